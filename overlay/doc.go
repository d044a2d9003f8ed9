// Package overlay is Skiff's layer store: it unpacks OCI image layers into
// per-layer directories, describes OverlayFS mounts over them, and turns a
// container's upper directory back into an OCI layer tar.
//
// # Vocabulary
//
//   - A layer is one OCI layer tar (uncompressed). Its diffID is the digest of
//     the tar bytes; its chainID identifies the layer together with every layer
//     below it (the OCI image-spec "ChainID"). The store is keyed by chainID, so
//     two images that share a base share the unpacked base directories.
//   - A layer directory, <root>/layers/<chainID hex>/diff, holds the layer's
//     files in overlay form and is used as an overlay lowerdir.
//   - A snapshot is what Prepare makes for one container: an empty upper dir
//     and a work dir, plus a Mount value listing the lower dirs.
//
// # Lifecycle
//
//	Unpack(chainID, diffID, tar) → layers/<hex>/diff   (once per chainID)
//	Prepare(dir, chainIDs)       → Mount{overlay, lowerdir=…,upperdir=dir/upper,workdir=dir/work}
//	Mount.Mount(dir/merged)      … container runs …
//	Unmount(dir/merged)
//	Diff(lowers, dir/upper, w)   → OCI layer tar of the changes (build, commit)
//	Remove(chainID)              when no image and no container uses the layer
//
// # Whiteouts
//
// OCI layers mark deletions with whiteout files; OverlayFS marks them with
// special inodes. Unpack converts one into the other and Diff converts back:
//
//	OCI tar entry           on disk in a layer / upper dir
//	dir/.wh.name            dir/name: character device 0:0
//	dir/.wh..wh..opq        dir: xattr trusted.overlay.opaque="y"
//
// # Threat model
//
// Layer tars are untrusted. Every entry name and hardlink target is cleaned
// lexically: a name that climbs above the root with ".." is rejected
// (ErrUnsafePath), an absolute name is taken relative to the layer root. The
// parent directory of every entry is then opened with openat2(2)
// RESOLVE_IN_ROOT (falling back to github.com/cyphar/filepath-securejoin's
// pathrs-lite on kernels without openat2), so a symlink unpacked earlier —
// absolute, relative, or with "..": "etc -> /etc", "x -> ../../.." — is
// resolved as it would be inside the container, never towards the host
// (writing through a symlink whose target does not exist in the layer fails,
// since no directory is created through a dangling symlink). The
// final component is created with *at(2) calls relative to that directory
// handle and never followed (O_NOFOLLOW, AT_SYMLINK_NOFOLLOW): an existing
// entry of another type is removed first, as tar does. Hardlink targets are
// resolved the same way, so they can only point inside the layer. Extended
// attributes in the trusted.overlay.* and user.overlay.* namespaces are
// dropped, since they would steer OverlayFS; security.* attributes that the host refuses are skipped
// with a debug log. Sparse entries are refused (ErrUnsupportedEntry): the tar
// reader would expand their declared holes, so a few bytes could claim
// terabytes; the OCI image spec says layers should not use them.
//
// Nobody but the unpacking goroutine writes to a layer while it is built (it
// lives in a private temp dir), so the only adversary is the tar itself.
//
// Unpack and mounting need root (chown, mknod, trusted.* xattrs, mount) and a
// mounted /proc (xattrs on non-regular files go through /proc/self/fd).
//
// # Crash safety and concurrency
//
// A layer is built in <root>/layers/.tmp-<hex>-<random>, flushed with one
// syncfs(2) (rather than an fsync per file: that is what makes Unpack fast)
// and made visible by renameat2(RENAME_NOREPLACE). A per-chainID flock(2) in
// <root>/layers/locks makes a second Unpack of the same layer, in this or
// another process, wait and then find the layer present; if the lock is lost
// somehow, the rename still lets exactly one copy win. Every unpack and
// removal holds that lock while its temp dir (.tmp-<hex>-*, .rm-<hex>-*)
// exists, so a temp dir whose lock is free was left by a killed process:
// Store.Check reports those and short links whose layer is gone, and removes
// them with repair. The lock file of a layer goes with the layer (Remove, a
// failed Unpack, Check's repair), so the locks dir holds one file per layer
// present; a locker that waited on a file removed meanwhile notices and locks
// the path's new file.
//
// # Speed
//
// Unpack streams: nothing is staged in a temp tarball. The digest is computed
// on its own goroutine while entries are written; small regular files
// (≤ 128 KiB, most of a root file system) are created by a pool of writer
// goroutines, with ordering rules that give exactly the result of a
// sequential unpack (see parallel.go); big files stream through a 1 MiB
// buffer. Durability costs one syncfs per layer rather than an fsync per file
// (WithoutSync drops even that, for throw-away stores).
//
// # Mount data and many layers
//
// The overlay mount data is limited to one page. Each layer gets a short
// symlink <root>/layers/l/<24 hex> → ../<hex>/diff, created with the layer,
// and Prepare lists those. When the data still does not fit, Mount.Mount
// uses the new mount API and passes each lower dir with fsconfig "lowerdir+"
// (Linux ≥ 6.8), so hundreds of layers work.
package overlay
