package skiff

import "context"

// WarmReady waits until the engine's warm init (WithWarmInit) is ready and returns
// its pid; for tests.
func (e *Engine) WarmReady(ctx context.Context) (int, error) { return e.warm.init.Ready(ctx) }

// WarmMonitor returns the pid of the engine's warm monitor, 0 if none is ready; for
// tests.
func (e *Engine) WarmMonitor() int {
	e.warm.mu.Lock()
	defer e.warm.mu.Unlock()
	if e.warm.monitor == nil {
		return 0
	}
	return e.warm.monitor.cmd.Process.Pid
}
