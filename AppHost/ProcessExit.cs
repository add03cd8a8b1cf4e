using System.Reflection;

/// <summary>
/// The AppHost's exit code when it runs as its own process. Aspire.Hosting.Testing runs the AppHost's entry point
/// inside the test host, whose exit code must stay the test runner's: there, failures stay exceptions only.
/// </summary>
internal static class ProcessExit
{
    /// <summary>True when this process is the AppHost itself (<c>dotnet run --project AppHost</c>, <c>aspire ...</c>).</summary>
    public static bool IsAppHostProcess => Assembly.GetEntryAssembly() == typeof(ProcessExit).Assembly;

    /// <summary>Makes the process exit with code 1 (when it is the AppHost's own process).</summary>
    public static void Fail()
    {
        if (IsAppHostProcess)
        {
            Environment.ExitCode = 1;
        }
    }
}
