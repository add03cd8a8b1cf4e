using System.Globalization;
using Inference.Server.Core;

namespace Inference.Server.Scheduling.RateLimiting;

/// <summary>
/// One <c>--rate-limit-resource=&lt;name&gt;:&lt;count&gt;[:&lt;device&gt;]</c>: how many copies of a resource the server
/// has, on one device or (no device) on every device. A resource that the configs mark global takes the largest count
/// given for it, whatever the device.
/// </summary>
public sealed record RateLimitResource(string Name, int Count, int? Device)
{
    public const string Flag = "--rate-limit-resource";

    /// <summary>Parses the flag's value with Triton's error wording; names compare case-insensitively, as Triton's.</summary>
    public static Result<RateLimitResource> Parse(string value)
    {
        var error = new InferenceError(ErrorCode.InvalidArgument,
            $"{Flag} option format is '<resource_name>:<count>:<device>' or '<resource_name>:<count>'. Got {value}");
        var parts = value.Split(':');
        if (parts.Length is < 2 or > 3 || parts[0].Length == 0
            || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var count))
        {
            return error;
        }
        int? device = null;
        if (parts.Length == 3)
        {
            if (!int.TryParse(parts[2], NumberStyles.None, CultureInfo.InvariantCulture, out var d))
            {
                return error;
            }
            device = d;
        }
        return new RateLimitResource(parts[0], count, device);
    }
}

/// <summary>What one model instance needs to execute (its group's <c>rate_limiter</c>): resource counts, each global
/// or on the instance's device, and its priority (0 counts as 1; priority 2 gets half the chances of priority 1).</summary>
public sealed record RateLimiterRequirement(IReadOnlyList<(string Name, bool Global, int Count)> Resources, uint Priority, int Device);
