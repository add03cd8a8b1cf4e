using System.Globalization;
using Inference.Server.Core;

namespace Inference.Server.Protocol;

/// <summary>Parses the wire's model version strings: empty or absent means -1 (the version policy's choice).</summary>
public static class VersionParser
{
    public static Result<long> Parse(string? version)
    {
        if (string.IsNullOrEmpty(version))
        {
            return -1L;
        }
        if (long.TryParse(version, NumberStyles.None, CultureInfo.InvariantCulture, out var v))
        {
            return v;
        }
        return ProtocolErrors.Invalid($"model version '{version}' is not a non-negative integer");
    }
}
