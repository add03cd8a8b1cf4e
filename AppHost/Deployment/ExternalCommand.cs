using System.Diagnostics;
using System.Text;

namespace AspireInference.AppHost.Deployment;

/// <summary>Runs a command-line tool (kubectl, dotnet) for a pipeline step: arguments as a list (no shell), output
/// lines to <paramref name="log"/> as they come, a time limit, and the exit code with the output kept for the message.</summary>
internal static class ExternalCommand
{
    public sealed record Result(int ExitCode, string Output)
    {
        public bool Succeeded => ExitCode == 0;
    }

    /// <summary>The full path of <paramref name="tool"/> on PATH, or null.</summary>
    public static string? Find(string tool)
    {
        foreach (var folder in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(folder, tool);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }
        return null;
    }

    public static async Task<Result> RunAsync(string file, IEnumerable<string> arguments, Action<string> log, TimeSpan timeout,
        CancellationToken cancellationToken, string? workingDirectory = null)
    {
        var start = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? Environment.CurrentDirectory,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        using var process = new Process { StartInfo = start };
        var output = new StringBuilder();
        void OnLine(string? line)
        {
            if (line is null)
            {
                return;
            }
            lock (output)
            {
                output.AppendLine(line);
            }
            log(line);
        }
        process.OutputDataReceived += (_, e) => OnLine(e.Data);
        process.ErrorDataReceived += (_, e) => OnLine(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(timeout);
        try
        {
            await process.WaitForExitAsync(limit.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            cancellationToken.ThrowIfCancellationRequested();
            throw new DistributedApplicationException($"'{Path.GetFileName(file)} {string.Join(' ', start.ArgumentList)}' did not finish within {timeout.TotalSeconds:0} s.");
        }
        lock (output)
        {
            return new Result(process.ExitCode, output.ToString());
        }
    }
}
