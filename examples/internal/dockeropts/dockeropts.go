// Package dockeropts parses the container options of Docker's command line and of its
// Engine API's create request into the library's types, once for both front ends:
// the skiff CLI (docker run flags) and skiffd (the HostConfig a docker client sends,
// whose Binds, Tmpfs and Ulimits are the same strings and values).
//
//	docker run flag                 here                       skiff
//	-v / HostConfig.Binds           ParseVolume                Mount (bind, volume)
//	--mount / HostConfig.Mounts     ParseMount                 Mount
//	--tmpfs / HostConfig.Tmpfs      ParseTmpfs                 Mount (tmpfs)
//	-p / HostConfig.PortBindings    ParsePublish, PortBindings netbridge.PortMapping
//	-m, --memory-swap, --cpus       ParseMemory, ParseMemorySwap, ParseCPUs, CPUQuota
//	-e, --env-file                  ExpandEnv, ParseEnvFile    Env
//	--ulimit / HostConfig.Ulimits   ParseUlimit, Ulimit        specs.POSIXRlimit
//	--restart / RestartPolicy       ParseRestartPolicy         RestartPolicy
//	--security-opt                  ParseSecurityOpt           NoNewPrivileges
//	-l / --label                    ParseLabels                Labels
//	--health-* / Config.Healthcheck HealthFlags.Healthcheck    Healthcheck
//
// Parsing touches no file (CreateBindSource and CheckBindSource do, apart), so the
// package is tested without root. Errors quote the input as Docker's do.
package dockeropts
