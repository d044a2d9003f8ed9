package netbridge

import "errors"

// Sentinel errors. Every error returned by this package wraps one of these (or a
// kernel/OS error) and names the network, bridge, veth, netns, address or port involved.
var (
	// ErrNetworkNotFound: no network of that name exists in the state dir.
	ErrNetworkNotFound = errors.New("network not found")
	// ErrNetworkExists: CreateNetwork with a name already in use.
	ErrNetworkExists = errors.New("network already exists")
	// ErrNetworkInUse: RemoveNetwork on a network that still has endpoints.
	ErrNetworkInUse = errors.New("network has active endpoints")
	// ErrInvalidName: a network, bridge or interface name that is empty, too long or has
	// characters outside [a-zA-Z0-9_.-].
	ErrInvalidName = errors.New("invalid name")
	// ErrInvalidSubnet: not an IPv4 prefix, host bits set, or too small (longer than /30).
	ErrInvalidSubnet = errors.New("invalid subnet")
	// ErrSubnetOverlap: the subnet overlaps a host route or another Skiff network.
	ErrSubnetOverlap = errors.New("subnet overlaps")
	// ErrNoSubnet: every candidate of the default pool overlaps something.
	ErrNoSubnet = errors.New("no free subnet in the default pool")
	// ErrAddressExhausted: the network's subnet has no free address left.
	ErrAddressExhausted = errors.New("no free address")
	// ErrAddressNotAllocated: Release of an address that is not allocated.
	ErrAddressNotAllocated = errors.New("address not allocated")
	// ErrEndpointExists: the container is already attached to the network.
	ErrEndpointExists = errors.New("endpoint already exists")
	// ErrEndpointNotFound: the container is not attached to the network.
	ErrEndpointNotFound = errors.New("endpoint not found")
	// ErrPortInUse: a published host port is bound on the host or mapped already.
	ErrPortInUse = errors.New("host port already in use")
	// ErrInvalidPort: a PortMapping with a bad protocol, port number or host IP.
	ErrInvalidPort = errors.New("invalid port mapping")
)
