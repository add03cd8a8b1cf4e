namespace Inference.Tests.AppHost;

/// <summary>
/// PATH folders standing in for the docker CLI, since no container runtime can run on the development and CI machines:
/// one whose <c>docker info</c> answers, one whose <c>docker info</c> fails as without its daemon, one with no CLI.
/// </summary>
internal sealed class FakeContainerRuntimes : IDisposable
{
    private readonly DirectoryInfo _root = Directory.CreateTempSubdirectory("runtimes-");

    public FakeContainerRuntimes()
    {
        Answering = Cli("answering", "[ \"$1\" = info ] && exit 0; exit 2");
        Failing = Cli("failing", "echo 'Cannot connect to the Docker daemon at unix:///var/run/docker.sock.' >&2; exit 1");
        Absent = _root.CreateSubdirectory("absent").FullName;
    }

    /// <summary>A folder whose docker answers <c>info</c>.</summary>
    public string Answering { get; }

    /// <summary>A folder whose docker fails <c>info</c>, as a CLI without its daemon does.</summary>
    public string Failing { get; }

    /// <summary>A folder with no docker nor podman.</summary>
    public string Absent { get; }

    public void Dispose() => _root.Delete(recursive: true);

    private string Cli(string folder, string body)
    {
        var directory = _root.CreateSubdirectory(folder).FullName;
        var file = Path.Combine(directory, "docker");
        File.WriteAllText(file, "#!/bin/sh\n" + body + "\n");
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(file, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
        return directory;
    }
}
