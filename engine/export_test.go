package engine

// RunningSteps is how many step attempts the engine executes now, for tests
// that check that a waiting step holds no worker.
func RunningSteps(e *Engine) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.running)
}
