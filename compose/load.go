package compose

import (
	"context"
	"fmt"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"

	"github.com/skiffrt/skiff/errdefs"
)

// ErrInvalidProject is returned when a Compose file cannot be loaded or asks for what
// the engine does not do.
var ErrInvalidProject = errdefs.New(errdefs.ErrInvalidArgument, "invalid compose project")

// LoadOptions say which Compose files to load, as docker compose's global flags.
type LoadOptions struct {
	// Files are the Compose files, merged in order (docker compose -f). Default: the
	// first of compose.yaml, compose.yml, docker-compose.yml, docker-compose.yaml in
	// WorkingDir or a parent.
	Files []string
	// ProjectName names the project (docker compose -p). Default: the top-level name:
	// of the files, $COMPOSE_PROJECT_NAME, else the working directory's base name.
	ProjectName string
	// WorkingDir is the project directory that relative paths are resolved against
	// (--project-directory). Default: the first file's directory.
	WorkingDir string
	// EnvFiles are the files variables are interpolated from (--env-file). Default:
	// WorkingDir/.env when it exists. The process's environment takes precedence.
	EnvFiles []string
	// Profiles enable the services of those profiles (--profile).
	Profiles []string
}

// Load reads, interpolates, merges and validates Compose files with the Compose
// Specification's own loader (compose-go) and returns the project, with every
// relative path made absolute and each service's env_file merged into its
// environment.
func Load(ctx context.Context, opts LoadOptions) (*types.Project, error) {
	fns := []cli.ProjectOptionsFn{
		cli.WithWorkingDirectory(opts.WorkingDir),
		cli.WithOsEnv,
	}
	if len(opts.EnvFiles) > 0 {
		fns = append(fns, cli.WithEnvFiles(opts.EnvFiles...))
	}
	fns = append(fns, cli.WithDotEnv, cli.WithConfigFileEnv, cli.WithDefaultConfigPath)
	if opts.ProjectName != "" {
		fns = append(fns, cli.WithName(opts.ProjectName))
	}
	fns = append(fns, cli.WithProfiles(opts.Profiles), cli.WithResolvedPaths(true))
	po, err := cli.NewProjectOptions(opts.Files, fns...)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidProject, err)
	}
	p, err := po.LoadProject(ctx)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidProject, err)
	}
	return p, nil
}
