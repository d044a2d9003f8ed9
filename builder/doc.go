// Package builder executes Dockerfiles: it turns a parsed Dockerfile
// (package dockerfile) and a context directory into an image in the image
// store (package registry), with every filesystem step captured as a layer
// of the layer store (package overlay).
//
// # How a step runs
//
// A stage starts from a base: an image of the store (pulled through
// Config.Pull when missing), "scratch", or an earlier stage. Metadata
// instructions (ENV, CMD, LABEL, USER, WORKDIR, ...) only change the image
// config and add a history entry marked empty_layer. A filesystem step (RUN,
// COPY, ADD) works on a snapshot:
//
//	prepare   overlay of the parent layers + a fresh upper dir, in a temp
//	          dir under Config.TempDir, mounted on <tmp>/merged
//	mutate    RUN: Config.Runner runs the command with <tmp>/merged as root;
//	          COPY/ADD: files are written into <tmp>/merged, every path
//	          resolved inside it (securejoin)
//	unmount   the upper dir now holds exactly the step's changes
//	diff      overlay.Diff turns the upper dir into an OCI layer tar
//	          (whiteouts for deletions, opaque dirs), gzip-compressed into
//	          the build cache's blob dir
//	unpack    the tar is unpacked into the layer store under the layer's
//	          chain ID, so the next step mounts it as a lower dir
//
// # Cache
//
// Each step has a cache key: a hash of its parent's key (rooted at the base
// image's ID), the instruction after expansion, the build args it can see
// (for RUN) and, for COPY and ADD, the content, mode, owner and mtime of
// every file it copies from the context. A key found under
// <root>/build-cache reuses the recorded layer without running anything, so
// a rebuild with nothing changed starts no container; a changed file misses
// at its COPY and every step after it. Options.NoCache skips the lookups.
//
// # Failure
//
// A failed or cancelled build writes no image: snapshots are unmounted and
// removed, and the layers the build unpacked into the layer store that no
// image uses are removed again. Steps that completed stay in the build cache
// (their blobs under <root>/build-cache), as with Docker. A failing RUN is a
// *StepError naming the Dockerfile line, the exit code and the tail of the
// output.
//
// A build or commit holds the image store's GC lock shared while it runs
// (registry.Store.LockGC), so a collector of layers waits for it. A build
// killed midway leaves its temps (.tmp-* in the cache, step snapshots maybe
// still mounted); Builder.Check finds them once no build or pull holds that
// lock and, with repair, unmounts and removes them.
//
// # Reproducible builds
//
// With Options.SourceDateEpoch set (the CLI reads SOURCE_DATE_EPOCH), every
// mtime in the new layers is clamped to it, and the config and history carry
// it as their creation time, so two builds of one context give the same
// image digest.
package builder
