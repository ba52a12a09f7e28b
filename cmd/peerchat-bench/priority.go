package main

import (
	"fmt"
	"os"
	"strconv"
	"syscall"
)

// lowestPriority gives every thread of this process nice 19. Linux keeps
// a nice value per thread, so setting it for the process ID alone would
// miss the runtime's other threads; the ones started later inherit it
// from whichever thread starts them, which after this is a niced one.
// Two passes catch a thread the runtime started during the first.
func lowestPriority() error {
	for range 2 {
		tasks, err := os.ReadDir("/proc/self/task")
		if err != nil {
			return fmt.Errorf("list threads: %w", err)
		}
		for _, t := range tasks {
			tid, err := strconv.Atoi(t.Name())
			if err != nil {
				continue
			}
			if err := syscall.Setpriority(syscall.PRIO_PROCESS, tid, 19); err != nil {
				return fmt.Errorf("nice thread %d: %w", tid, err)
			}
		}
	}
	return nil
}
