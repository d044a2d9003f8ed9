package skiff

import "context"

// WarmReady waits until the engine's warm init (WithWarmInit) is ready and returns
// its pid; for tests.
func (e *Engine) WarmReady(ctx context.Context) (int, error) { return e.warm.Ready(ctx) }
