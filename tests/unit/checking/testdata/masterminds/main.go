// Command oracle answers semver questions with github.com/Masterminds/semver/v3 v3.5.0, the release
// Flux's source-controller uses. It reads one JSON array per line and writes the same array with the
// library's answer appended; generate.py uses it to write golden.jsonl. Requests:
//
//	["version", text]                       -> answer: canonical string, or null when NewVersion fails
//	["compare", a, b]                       -> answer: a.Compare(b) (-1, 0, 1)
//	["constraint", text]                    -> answer: whether NewConstraint accepts it
//	["check", constraint, version, incPre]  -> answer: Check with IncludePrerelease = incPre
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"

	"github.com/Masterminds/semver/v3"
)

func answer(req []any) any {
	text := func(i int) string { return req[i].(string) }
	switch req[0] {
	case "version":
		v, err := semver.NewVersion(text(1))
		if err != nil {
			return nil
		}
		return v.String()
	case "compare":
		return semver.MustParse(text(1)).Compare(semver.MustParse(text(2)))
	case "constraint":
		_, err := semver.NewConstraint(text(1))
		return err == nil
	case "check":
		c, err := semver.NewConstraint(text(1))
		if err != nil {
			panic(err)
		}
		c.IncludePrerelease = req[3].(bool)
		return c.Check(semver.MustParse(text(2)))
	}
	panic(fmt.Sprintf("unknown request %v", req[0]))
}

func main() {
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 1<<20)
	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	for in.Scan() {
		var req []any
		if err := json.Unmarshal(in.Bytes(), &req); err != nil {
			panic(err)
		}
		line, err := json.Marshal(append(req, answer(req)))
		if err != nil {
			panic(err)
		}
		out.Write(append(line, '\n'))
	}
	if err := in.Err(); err != nil {
		panic(err)
	}
}
