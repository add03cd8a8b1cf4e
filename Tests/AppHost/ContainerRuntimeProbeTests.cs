namespace Inference.Tests.AppHost;

/// <summary>
/// The AppHost's container runtime check. No container runtime can run on the development and CI machines, so the
/// answering and failing runtimes are small shell scripts standing in for the docker/podman CLIs on a PATH of their
/// own; the last test runs the machine's real docker CLI where its daemon is absent.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class ContainerRuntimeProbeTests : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    private readonly DirectoryInfo _path = Directory.CreateTempSubdirectory("runtime-probe-");

    public void Dispose() => _path.Delete(recursive: true);

    private void Cli(string name, string body)
    {
        var file = Path.Combine(_path.FullName, name);
        File.WriteAllText(file, "#!/bin/sh\n" + body + "\n");
        File.SetUnixFileMode(file, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
    }

    [Fact]
    public void NoCliOnPath_IsNoRuntime() =>
        Assert.Null(ContainerRuntimeProbe.FindUsable(null, _path.FullName, Timeout));

    [Fact]
    public void CliWhoseInfoFails_AsWithoutItsDaemon_IsNoRuntime()
    {
        Cli("docker", "echo 'Cannot connect to the Docker daemon at unix:///var/run/docker.sock.' >&2; exit 1");

        Assert.Null(ContainerRuntimeProbe.FindUsable(null, _path.FullName, Timeout));
    }

    [Fact]
    public void CliWhoseInfoSucceeds_IsTheRuntime_DockerBeforePodman()
    {
        Cli("podman", "[ \"$1\" = info ] && exit 0; exit 2");
        Assert.Equal("podman", ContainerRuntimeProbe.FindUsable(null, _path.FullName, Timeout));

        Cli("docker", "[ \"$1\" = info ] && exit 0; exit 2");
        Assert.Equal("docker", ContainerRuntimeProbe.FindUsable(null, _path.FullName, Timeout));
    }

    [Fact]
    public void ConfiguredRuntime_IsTheOnlyOneTried()
    {
        Cli("docker", "exit 0");

        Assert.Null(ContainerRuntimeProbe.FindUsable("podman", _path.FullName, Timeout));
        Assert.Equal("docker", ContainerRuntimeProbe.FindUsable("docker", _path.FullName, Timeout));
    }

    [Fact]
    public void CliThatDoesNotAnswerInTime_IsNoRuntime()
    {
        Cli("docker", "exec sleep 60");

        Assert.Null(ContainerRuntimeProbe.FindUsable(null, _path.FullName, TimeSpan.FromMilliseconds(500)));
    }

    [Fact]
    public void RealDockerCliWithoutItsDaemon_IsNoRuntime()
    {
        var path = Environment.GetEnvironmentVariable("PATH");
        var docker = (path ?? "").Split(Path.PathSeparator).Select(d => Path.Combine(d, "docker")).FirstOrDefault(File.Exists);
        Assert.SkipWhen(docker is null, "no docker CLI on PATH");
        Assert.SkipWhen(File.Exists("/var/run/docker.sock") || Environment.GetEnvironmentVariable("DOCKER_HOST") is not null,
            "a Docker daemon may be configured here");

        Assert.Null(ContainerRuntimeProbe.FindUsable("docker", path, Timeout));
    }
}
