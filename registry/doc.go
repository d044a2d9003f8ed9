// Package registry is Skiff's image store and registry client.
//
// # The store
//
// A [Store] is a standard OCI image layout in one directory:
//
//	oci-layout                {"imageLayoutVersion":"1.0.0"}
//	index.json                one entry per image name
//	blobs/sha256/<hex>        manifests, configs and layers, named by their digest
//
// Each index.json entry points at an image manifest and carries the annotation
// org.opencontainers.image.ref.name with the full normalized reference
// ("docker.io/library/busybox:latest", "127.0.0.1:5000/app:v1"), so other OCI tools read
// the store: `skopeo inspect oci:DIR:docker.io/library/busybox:latest`, `umoci unpack
// --image DIR:docker.io/library/busybox:latest`.
//
// # Vocabulary
//
//   - reference: registry/repository:tag or registry/repository@digest. Short names are
//     normalized as docker does: "busybox" is "docker.io/library/busybox:latest".
//   - manifest digest ([Image].Digest): what a digest reference names.
//   - image ID ([Image].ID): the config blob's digest, docker's image ID; lookups accept a
//     unique prefix of it ("3f57d9401f8d").
//   - layer digest / diff ID ([Layer]): the digest of the stored (compressed) blob and of
//     the uncompressed tar; chain IDs ([Image.ChainIDs]) key unpacked layers.
//
// # Verbs
//
// [Store.Pull] and [Store.Push] move images between the store and registries
// (`skopeo copy docker://REF oci:DIR:REF` and back); [Store.Image], [Store.List],
// [Store.Tag] and [Store.Remove] work on the store alone (`docker image inspect / ls / tag /
// rm`); [Store.OpenLayer] streams a layer's uncompressed tar; [Store.Prune] collects blobs no
// image references and [Store.Check] is fsck; both take the store's garbage-collection lock
// exclusive, which writes and pulls hold shared, and [Store.LockGC] offers it to callers that
// write content an image names only later (a build) or collect content of their own (the
// engine's unpacked layers). [Login] and [Logout] keep credentials in the
// docker config.json that Pull and Push read through authn.DefaultKeychain. [WithUnpack]
// lets a caller unpack layers while Pull downloads them.
//
// Manifests are stored byte for byte, so digests stay the registry's. A consequence: an image
// whose registry manifest is Docker schema 2 (not OCI) keeps its Docker media types, and
// skopeo's and umoci's oci: readers list only OCI-typed entries of index.json; images pushed
// as OCI (and everything skopeo writes into the store) interoperate both ways.
//
// # Safety
//
// Nothing is trusted before its digest matches: blobs are streamed to temp files inside
// blobs/sha256 while hashed, compared with the digest (a mismatch is a [*DigestError]
// wrapping [ErrDigestMismatch]), fsync'ed, and renamed into place only when every blob of
// the image is verified. index.json is read-modified-written under an flock and replaced
// by rename. Several goroutines and processes may share one store; a process killed at any
// instant leaves a store the next Pull completes. Plain HTTP is used only for loopback
// registries and those passed to [WithInsecure]; manifests are bounded by
// [MaxManifestSize].
package registry
