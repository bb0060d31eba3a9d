"""kstatus conditions and the status bodies the operator writes."""
