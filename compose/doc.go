// Package compose runs Compose applications (compose.yaml files, the Compose
// Specification) on a skiff.Engine, in-process and with no daemon: what `docker compose`
// does against a Docker daemon.
//
// Vocabulary, as Compose's: a project is one application (its name prefixes every
// object it owns); a service is one kind of container of it, run as one or more
// replicas numbered from 1. Every object the project creates carries the labels
// Docker Compose writes (com.docker.compose.project, .service, .container-number,
// .network, .volume), so `docker compose` against skiffd and this package see the same
// containers, networks and volumes.
//
// Lifecycle:
//
//	p, _ := compose.Load(ctx, compose.LoadOptions{Files: []string{"compose.yaml"}})
//	app := compose.New(engine, p)
//	app.Up(ctx, compose.UpOptions{Build: true})   // networks, volumes, images, containers
//	app.Ps(ctx); app.Logs(ctx, ...); app.Exec(ctx, "web", ...)
//	app.Down(ctx, compose.DownOptions{Volumes: true})
//
// Names: networks "<project>_<name>" (every service without networks joins
// "<project>_default"), named volumes "<project>_<name>", containers
// "<project>-<service>-<n>" unless container_name says otherwise. On each network a
// container answers to its service name, its container name and its declared aliases.
//
// Up creates services in dependency order (depends_on): service_started waits for the
// dependency's containers to run, service_healthy for the engine's health check of them
// (healthcheck: becomes ContainerConfig.Healthcheck, probed by each container's
// monitor) to report healthy, service_completed_successfully for them to exit 0.
package compose
