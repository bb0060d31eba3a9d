"""The offline demo and its local stand-ins (a chart repository server), also used by the e2e tests."""
