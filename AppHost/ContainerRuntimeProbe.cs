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
    public static string? FindUsable(string? configuredRuntime, string? searchPath, TimeSpan timeout) =>
        Probe(configuredRuntime, searchPath, timeout).Runtime;

    /// <summary>The first runtime that answers, or none with why each candidate did not (for the resources that need one).</summary>
    public static ContainerRuntimeStatus Probe(string? configuredRuntime, string? searchPath, TimeSpan timeout)
    {
        string[] candidates = string.IsNullOrWhiteSpace(configuredRuntime) ? ["docker", "podman"] : [configuredRuntime.Trim()];
        var reasons = new List<string>();
        foreach (var name in candidates)
        {
            if (FindOnPath(name, searchPath) is not { } cli)
            {
                reasons.Add($"no '{name}' on PATH");
                continue;
            }
            if (Answers(cli, timeout) is not { } failure)
            {
                return new ContainerRuntimeStatus(name, "");
            }
            reasons.Add($"'{name} info' {failure}");
        }
        return new ContainerRuntimeStatus(null, string.Join("; ", reasons));
    }

    private static string? FindOnPath(string name, string? searchPath) =>
        (searchPath ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(folder => Path.Combine(folder, name))
            .FirstOrDefault(File.Exists);

    /// <summary>Null when <c>cli info</c> succeeds in time, else what went wrong.</summary>
    private static string? Answers(string cli, TimeSpan timeout)
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
                return "could not be started";
            }
            // Drain both pipes so a chatty CLI cannot block on a full pipe before it exits.
            _ = process.StandardOutput.ReadToEndAsync();
            var error = process.StandardError.ReadToEndAsync();
            if (!process.WaitForExit(timeout))
            {
                process.Kill(entireProcessTree: true);
                return $"did not answer within {timeout.TotalSeconds:0.#} s";
            }
            if (process.ExitCode == 0)
            {
                return null;
            }
            var firstLine = error.Wait(TimeSpan.FromSeconds(1))
                ? error.Result.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).FirstOrDefault()
                : null;
            return $"failed (exit {process.ExitCode})" + (string.IsNullOrEmpty(firstLine) ? "" : $": {firstLine}");
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return "is not executable";
        }
    }
}

/// <summary>A probe's answer: the runtime that answered, or null and <see cref="Reason"/> saying why none did.</summary>
internal sealed record ContainerRuntimeStatus(string? Runtime, string Reason)
{
    public bool IsUsable => Runtime is not null;
}
