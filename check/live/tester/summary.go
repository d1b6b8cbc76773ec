package tester

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/tcpcheck/tcpcheck/check/live/dut"
)

// Summary counts a run's results and holds them row by row.
type Summary struct {
	Cases       int
	Verdicts    [numVerdicts]int // by Verdict
	Rows        int              // rows of the table
	Exercised   int              // rows with a case that reached the row's event and was judged there
	Explained   int              // rows not exercised, with a reason: not drivable, needing --full, unreachable, or only reachable through a deviation
	Shown       map[string]int   // registered deviation ID -> cases that showed it
	NotShown    []string         // registered deviations no case showed (a failure when the whole suite ran)
	Unexplained []int            // rows neither exercised nor explained (should be empty)
	Cells       []Cell           // one per row
	Partial     bool             // the results cover only some of the suite's cases: row counts are not meaningful
}

// Cell is the outcome of one row on one DUT.
type Cell struct {
	Row        int
	Kind       string   // "agree", "deviation", "not drivable", "needs --full", "unreachable", "blocked", "DISAGREE", "not run"
	Cases      int      // cases of the row run
	Agree      int      // of them agreeing
	Deviations []string // deviation IDs shown at the row
	Reason     string   // for not drivable, needs --full, unreachable and blocked
	Global     bool     // no case targets the row: the reason is the suite's, the same for every stack
}

// Summarize sums up results of suite s (all of its cases, or a subset)
// against the registered deviations devs.
func Summarize(s *Suite, results []*Result, devs []dut.Deviation) *Summary {
	rows := s.Model.Rows()
	sum := &Summary{Cases: len(results), Rows: len(rows), Shown: map[string]int{}, Partial: len(results) < len(s.Cases)}
	byRow := map[int][]*Result{}
	for _, r := range results {
		sum.Verdicts[r.Verdict]++
		byRow[r.Case.Row] = append(byRow[r.Case.Row], r)
		if r.Verdict == Deviation {
			sum.Shown[r.Deviation]++
		}
	}
	for _, d := range devs {
		if sum.Shown[d.ID] == 0 {
			sum.NotShown = append(sum.NotShown, d.ID)
		}
	}
	for i := range rows {
		c := Cell{Row: i}
		rs := byRow[i]
		c.Cases = len(rs)
		var reached, blocked, notDrivable, full int
		var blockedBy, ndReason, fullReason string
		for _, r := range rs {
			last := r.FailStep < 0 || r.FailStep == len(r.Steps)-1 && r.Steps[r.FailStep].Move.Event == r.Case.Target().Event
			switch {
			case r.Verdict == Agree:
				c.Agree++
				reached++
			case r.Verdict == NotDrivable:
				notDrivable++
				if ndReason == "" {
					ndReason = strings.Replace(r.Reason, dut.ErrNotDrivable.Error()+": ", "", 1)
				}
			case r.Verdict == NeedsFull:
				full++
				if fullReason == "" {
					fullReason = r.Reason
				}
			case r.Verdict == Deviation && !last:
				blocked++
				if blockedBy == "" {
					blockedBy = r.Deviation
				}
			case r.Verdict == Deviation:
				reached++
				if !slices.Contains(c.Deviations, r.Deviation) {
					c.Deviations = append(c.Deviations, r.Deviation)
				}
			default:
				reached++
				c.Kind = "DISAGREE"
			}
		}
		sort.Strings(c.Deviations)
		switch {
		case c.Kind == "DISAGREE":
		case len(rs) == 0 && s.Unexercised[i] != "":
			c.Kind, c.Reason = strings.SplitN(s.Unexercised[i], ":", 2)[0], strings.TrimSpace(strings.SplitN(s.Unexercised[i], ":", 2)[1])
			c.Global = true
		case len(rs) == 0:
			c.Kind = "not run"
		case len(c.Deviations) > 0:
			c.Kind = "deviation"
		case reached > 0:
			c.Kind = "agree"
		case blocked > 0:
			c.Kind, c.Reason = "blocked", "every case meets deviation "+blockedBy+" on its way to the row"
		case full > 0:
			c.Kind, c.Reason = "needs --full", fullReason
		default:
			c.Kind, c.Reason = "not drivable", ndReason
		}
		switch c.Kind {
		case "agree", "deviation", "DISAGREE":
			sum.Exercised++
		case "not drivable", "needs --full", "unreachable", "blocked":
			sum.Explained++
		default:
			if len(results) > 0 && len(rs) == 0 && s.Unexercised[i] == "" {
				// A subset was run: the row was not among it.
				break
			}
			sum.Unexplained = append(sum.Unexplained, i)
		}
		sum.Cells = append(sum.Cells, c)
	}
	return sum
}

// Failed reports whether the run failed: a disagreement, or (when the
// whole suite ran) a registered deviation that did not show.
func (sum *Summary) Failed(whole bool) bool {
	return sum.Verdicts[Disagree] > 0 || whole && len(sum.NotShown) > 0
}

// String is the summary of counts printed at the end of a run.
func (sum *Summary) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d cases: %d agree, %d deviation, %d not drivable, %d need --full, %d disagree\n",
		sum.Cases, sum.Verdicts[Agree], sum.Verdicts[Deviation], sum.Verdicts[NotDrivable], sum.Verdicts[NeedsFull], sum.Verdicts[Disagree])
	if !sum.Partial {
		fmt.Fprintf(&b, "%d rows: %d exercised, %d explained (not drivable, needing --full, unreachable or blocked by a deviation), %d neither\n",
			sum.Rows, sum.Exercised, sum.Explained, len(sum.Unexplained))
	}
	ids := make([]string, 0, len(sum.Shown))
	for id := range sum.Shown {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		fmt.Fprintf(&b, "deviation %-32s shown by %d cases\n", id, sum.Shown[id])
	}
	for _, id := range sum.NotShown {
		fmt.Fprintf(&b, "deviation %-32s DID NOT SHOW\n", id)
	}
	return b.String()
}

// cellText renders a cell for the matrix, linking deviations to page.
func cellText(c Cell, page string) string {
	switch c.Kind {
	case "agree":
		return fmt.Sprintf("agree (%d)", c.Cases)
	case "deviation":
		var links []string
		for _, id := range c.Deviations {
			links = append(links, fmt.Sprintf("[%s](%s#%s)", id, page, id))
		}
		return fmt.Sprintf("deviation %s (%d cases)", strings.Join(links, ", "), c.Cases)
	case "DISAGREE":
		return fmt.Sprintf("**DISAGREE** (%d cases)", c.Cases)
	case "not drivable", "blocked", "needs --full":
		if c.Global {
			return c.Kind
		}
		return c.Kind + ": " + c.Reason
	}
	return c.Kind
}

// Column is one stack's results for the matrix.
type Column struct {
	Name    string   // the stack, e.g. "gVisor"
	Page    string   // its deviation registry, e.g. "gvisor.md"
	Summary *Summary // nil: not run here
	Note    string   // for a column not run, why
}

// Matrix renders docs/conformance.md: the rows of the table against the
// stacks, with totals.
func Matrix(s *Suite, cols []Column) string {
	rows := s.Model.Rows()
	var b strings.Builder
	b.WriteString("| # | row |")
	for _, c := range cols {
		b.WriteString(" " + c.Name + " |")
	}
	b.WriteString(" why no case reaches the row |\n|---|---|")
	for range cols {
		b.WriteString("---|")
	}
	b.WriteString("---|\n")
	for i, r := range rows {
		fmt.Fprintf(&b, "| %d | `%s` |", i, r.Name())
		for _, c := range cols {
			if c.Summary == nil {
				if why := s.Unexercised[i]; why != "" {
					b.WriteString(" " + cellText(Cell{Kind: strings.SplitN(why, ":", 2)[0], Global: true}, c.Page) + " |")
					continue
				}
				b.WriteString(" not run |")
				continue
			}
			b.WriteString(" " + strings.ReplaceAll(cellText(c.Summary.Cells[i], c.Page), "|", "\\|") + " |")
		}
		why := ""
		if u := s.Unexercised[i]; u != "" {
			why = strings.TrimSpace(strings.SplitN(u, ":", 2)[1])
		}
		b.WriteString(" " + why + " |\n")
	}
	b.WriteString("| | **total** |")
	for _, c := range cols {
		if c.Summary == nil {
			b.WriteString(" " + c.Note + " |")
			continue
		}
		sm := c.Summary
		fmt.Fprintf(&b, " %d cases: %d agree, %d deviation, %d not drivable, %d need --full, %d disagree; rows: %d exercised, %d explained of %d |",
			sm.Cases, sm.Verdicts[Agree], sm.Verdicts[Deviation], sm.Verdicts[NotDrivable], sm.Verdicts[NeedsFull], sm.Verdicts[Disagree], sm.Exercised, sm.Explained, sm.Rows)
	}
	b.WriteString(" |\n")
	return b.String()
}
