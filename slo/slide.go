package slo

import "github.com/loadgate/loadgate/histogram"

// slide is the merge of the last n interval histograms of a window.
//
// Histograms can be merged but not subtracted, and a merge costs a walk
// over the counts (about 0.1 ms at 3 digits up to 1 s), so re-merging n
// intervals every tick costs n merges per window. slide is the "two stacks"
// sliding-window aggregation instead: about three merges per tick whatever
// n is. The newest intervals sit in back with their running merge; the
// older ones in front as suffix merges, so that front's top is the merge of
// everything in front and dropping the oldest interval is a pop. When front
// runs empty, back is folded into it (n merges, once every n ticks).
//
// Every histogram slide hands out or keeps is immutable: interval
// histograms belong to their Period, merges are fresh frozen (compact)
// copies. Memory is at most about 2n compact histograms (intervals in back,
// merges in front), a few KB each.
type slide struct {
	n       int
	front   []*histogram.Histogram // suffix merges; the top (last) is the oldest's
	back    []*histogram.Histogram // newest intervals, oldest first
	backAgg *histogram.Histogram   // merge of back, nil when back is empty
}

// push adds the newest interval's histogram (nil when it had none) and
// drops the oldest beyond n.
func (s *slide) push(h *histogram.Histogram) {
	if len(s.front)+len(s.back) == s.n {
		if len(s.front) == 0 {
			s.fold()
		}
		s.front[len(s.front)-1] = nil
		s.front = s.front[:len(s.front)-1]
	}
	s.back = append(s.back, h)
	switch {
	case empty(h):
	default:
		s.backAgg = union(s.backAgg, h)
	}
}

// fold moves back into front, newest at the bottom, so that each front
// entry merges itself and everything newer in front.
func (s *slide) fold() {
	var acc *histogram.Histogram
	for i := len(s.back) - 1; i >= 0; i-- {
		acc = union(s.back[i], acc)
		s.front = append(s.front, acc)
		s.back[i] = nil
	}
	s.back = s.back[:0]
	s.backAgg = nil
}

// merged returns the merge of the window; nil when it holds no values. The
// result must not be written; it is valid until the next push.
func (s *slide) merged() *histogram.Histogram {
	var top *histogram.Histogram
	if len(s.front) > 0 {
		top = s.front[len(s.front)-1]
	}
	return union(top, s.backAgg)
}

// union returns the merge of a and b without writing either: one of them
// when the other is empty, else a new histogram.
func union(a, b *histogram.Histogram) *histogram.Histogram {
	switch {
	case empty(b):
		if empty(a) {
			return nil
		}
		return a
	case empty(a):
		return b
	}
	out := a.Thaw()
	out.Merge(b)
	return out.Freeze() // kept in front: compact
}

func empty(h *histogram.Histogram) bool { return h == nil || h.Count() == 0 }
