package netbridge

func resolvePorts(nets map[string]*netFile, ports []PortMapping) ([]PortMapping, error) {
	return ports, nil
}
