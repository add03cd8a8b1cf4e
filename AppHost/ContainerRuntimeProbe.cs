using System.Diagnostics;

/// <summary>
/// Whether a container runtime can run containers here, decided conservatively while the model is built: the
/// runtime's CLI (<c>$ASPIRE_CONTAINER_RUNTIME</c> when set, else docker, then podman) must be on PATH and
/// <c>&lt;cli&gt; info</c> must succeed within the timeout, which needs the daemon or engine to answer. A CLI without its
/// daemon (as on the development VMs: /usr/local/bin/docker, no /var/run/docker.sock) does not count.
/// </summary>
internal static class ContainerRuntimeProbe
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(5);

    /// <summary>The name of the first runtime that answers ("docker", "podman"), or null when none does.</summary>
    public static string? FindUsable(string? configuredRuntime, string? searchPath, TimeSpan timeout)
    {
        string[] candidates = string.IsNullOrWhiteSpace(configuredRuntime) ? ["docker", "podman"] : [configuredRuntime.Trim()];
        return candidates.FirstOrDefault(name => FindOnPath(name, searchPath) is { } cli && Answers(cli, timeout));
    }

    private static string? FindOnPath(string name, string? searchPath) =>
        (searchPath ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(folder => Path.Combine(folder, name))
            .FirstOrDefault(File.Exists);

    private static bool Answers(string cli, TimeSpan timeout)
    {
        var start = new ProcessStartInfo(cli, ["info"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        try
        {
            using var process = Process.Start(start);
            if (process is null)
            {
                return false;
            }
            // Drain both pipes so a chatty CLI cannot block on a full pipe before it exits.
            _ = process.StandardOutput.ReadToEndAsync();
            _ = process.StandardError.ReadToEndAsync();
            if (!process.WaitForExit(timeout))
            {
                process.Kill(entireProcessTree: true);
                return false;
            }
            return process.ExitCode == 0;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return false; // Not executable.
        }
    }
}
