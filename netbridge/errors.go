package netbridge

import (
	"github.com/skiffrt/skiff/errdefs"
)

// Sentinel errors. Every error returned by this package wraps one of these (or a
// kernel/OS error) and names the network, bridge, veth, netns, address or port involved.
var (
	// ErrNetworkNotFound: no network of that name exists in the state dir.
	ErrNetworkNotFound = errdefs.New(errdefs.ErrNotFound, "network not found")
	// ErrNetworkExists: CreateNetwork with a name already in use.
	ErrNetworkExists = errdefs.New(errdefs.ErrConflict, "network already exists")
	// ErrNetworkInUse: RemoveNetwork on a network that still has endpoints.
	ErrNetworkInUse = errdefs.New(errdefs.ErrConflict, "network has active endpoints")
	// ErrInvalidName: a network, bridge or interface name that is empty, too long or has
	// characters outside [a-zA-Z0-9_.-].
	ErrInvalidName = errdefs.New(errdefs.ErrInvalidArgument, "invalid name")
	// ErrInvalidSubnet: not an IPv4 prefix, host bits set, or too small (longer than /30).
	ErrInvalidSubnet = errdefs.New(errdefs.ErrInvalidArgument, "invalid subnet")
	// ErrSubnetOverlap: the subnet overlaps a host route or another Skiff network.
	ErrSubnetOverlap = errdefs.New(errdefs.ErrConflict, "subnet overlaps")
	// ErrNoSubnet: every candidate of the default pool overlaps something.
	ErrNoSubnet = errdefs.New(errdefs.ErrUnavailable, "no free subnet in the default pool")
	// ErrAddressExhausted: the network's subnet has no free address left.
	ErrAddressExhausted = errdefs.New(errdefs.ErrUnavailable, "no free address")
	// ErrAddressNotAllocated: Release of an address that is not allocated.
	ErrAddressNotAllocated = errdefs.New(errdefs.ErrNotFound, "address not allocated")
	// ErrInvalidAddress: a requested container or gateway address that is not a host
	// address of the subnet.
	ErrInvalidAddress = errdefs.New(errdefs.ErrInvalidArgument, "invalid address")
	// ErrAddressInUse: a requested container address another container holds.
	ErrAddressInUse = errdefs.New(errdefs.ErrConflict, "address already in use")
	// ErrEndpointExists: the container is already attached to the network.
	ErrEndpointExists = errdefs.New(errdefs.ErrConflict, "endpoint already exists")
	// ErrEndpointNotFound: the container is not attached to the network.
	ErrEndpointNotFound = errdefs.New(errdefs.ErrNotFound, "endpoint not found")
	// ErrPortInUse: a published host port is bound on the host or mapped already. Its
	// message ends as Docker's does: "Bind for 0.0.0.0:8080 failed: port is already
	// allocated".
	ErrPortInUse = errdefs.New(errdefs.ErrConflict, "port is already allocated")
	// ErrNamesInUse: even the table and bridge names derived from the state dir are
	// claimed by another state dir.
	ErrNamesInUse = errdefs.New(errdefs.ErrConflict, "network names in use by another state dir")
	// ErrLinkNotFound: RemoveLink of an alias the container has no link of.
	ErrLinkNotFound = errdefs.New(errdefs.ErrNotFound, "link not found")
	// ErrInvalidPort: a PortMapping with a bad protocol, port number or host IP.
	ErrInvalidPort = errdefs.New(errdefs.ErrInvalidArgument, "invalid port mapping")
)
