using Inference.Server.Backends.OnnxRuntime;
using Inference.Server.Core;
using Inference.Server.Protos;
using Inference.Server.Scheduling;
using Inference.Server.Scheduling.RateLimiting;

namespace Inference.Server.Repository;

/// <summary>Puts an instance behind the server's rate limiter as its instance group's <c>rate_limiter</c> says.</summary>
internal static class InstanceRateLimiting
{
    /// <summary>The instance itself when the rate limiter is off or the group has no rate_limiter block; otherwise a
    /// <see cref="RateLimitedInstance"/> registered with <paramref name="limiter"/> (on the instance's device, CPU
    /// instances counting as device 0 as in Triton), or the limiter's error.</summary>
    public static Result<IModelInstance> Wrap(RateLimiter? limiter, ModelInstanceGroup group, IModelInstance instance, OnnxDevice device)
    {
        if (limiter is null || group.RateLimiter is not { } config)
        {
            return new Result<IModelInstance>(instance, null);
        }
        var requirement = new RateLimiterRequirement(
            [.. config.Resources.Select(r => (r.Name, r.Global, checked((int)r.Count)))], config.Priority, device.DeviceId);
        var registration = limiter.Register(instance.Name, requirement);
        if (!registration.IsSuccess)
        {
            return registration.Error!;
        }
        return new Result<IModelInstance>(new RateLimitedInstance(instance, registration.Value!), null);
    }

    /// <summary>Checks an instance group's rate_limiter block (part of the config validation).</summary>
    public static InferenceError? Validate(ModelRateLimiter? config, string path, string f)
    {
        if (config is null)
        {
            return null;
        }
        var names = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        for (var i = 0; i < config.Resources.Count; i++)
        {
            var r = config.Resources[i];
            if (r.Name.Length == 0)
            {
                return ConfigErrors.Invalid(f, $"{path}.rate_limiter.resources[{i}].name", "must be set");
            }
            if (!names.Add(r.Name))
            {
                return ConfigErrors.Invalid(f, $"{path}.rate_limiter.resources[{i}].name", $"'{r.Name}' is listed twice");
            }
            if (r.Count > int.MaxValue)
            {
                return ConfigErrors.Invalid(f, $"{path}.rate_limiter.resources[{i}].count", $"{r.Count} is too large");
            }
        }
        return null;
    }
}
