using Inference.Server.Core;

namespace Inference.Server.Scheduling.RateLimiting;

/// <summary>
/// Triton's rate limiter in mode <c>execution_count</c>, shared by every model of the server: an instance executes only
/// once the resources its instance group's <c>rate_limiter</c> lists are free (per device, or global), and among the
/// instances waiting for free resources the one with the lowest execution count × priority goes first (ties in arrival
/// order). A resource has the count given by <c>--rate-limit-resource</c>, or else the largest count any registered
/// instance needs. Thread-safe.
/// </summary>
public sealed class RateLimiter
{
    private const int GlobalDevice = int.MinValue;

    private readonly object _lock = new();
    private readonly IReadOnlyList<RateLimitResource> _explicit;
    private readonly Dictionary<(string Name, int Device), int> _inUse = new(KeyComparer.Instance);
    private readonly Dictionary<string, ConcurrencyProbe> _probes = new(StringComparer.OrdinalIgnoreCase);
    private readonly List<Registration> _registered = [];
    private readonly LinkedList<Ticket> _waiting = new();
    private long _arrivals;

    /// <param name="explicitResources">The parsed <c>--rate-limit-resource</c> flags.</param>
    public RateLimiter(IReadOnlyList<RateLimitResource> explicitResources)
    {
        _explicit = explicitResources;
    }

    /// <summary>Instances waiting for resources now (diagnostics and tests).</summary>
    public int WaitingCount
    {
        get
        {
            lock (_lock)
            {
                return _waiting.Count;
            }
        }
    }

    /// <summary>The most executions that have held resource <paramref name="name"/> at the same time (any device),
    /// measured around the instances' executions themselves.</summary>
    public int MaxConcurrentExecutions(string name)
    {
        lock (_lock)
        {
            return _probes.TryGetValue(name, out var p) ? p.Max : 0;
        }
    }

    /// <summary>Registers an instance that will execute through <see cref="Acquire"/>. Fails, with Triton's messages, when
    /// an explicit resource count is below what the instance needs, or a resource is both global and per-device.</summary>
    public Result<Registration> Register(string instanceName, RateLimiterRequirement requirement)
    {
        lock (_lock)
        {
            foreach (var (name, global, count) in requirement.Resources)
            {
                var clash = _registered.SelectMany(r => r.Requirement.Resources)
                    .Any(x => string.Equals(x.Name, name, StringComparison.OrdinalIgnoreCase) && x.Global != global);
                if (clash)
                {
                    return new InferenceError(ErrorCode.InvalidArgument,
                        $"Resource \"{name}\" is present as both global and device-specific resource in the model configuration.");
                }
                var limit = ExplicitCount(name, global ? GlobalDevice : requirement.Device);
                if (limit is { } l && l < count)
                {
                    return new InferenceError(ErrorCode.InvalidArgument,
                        $"Resource count for \"{name}\" is limited to {l} which will prevent scheduling of one or more model instances, the minimum required count is {count}");
                }
            }
            var registration = new Registration(this, instanceName, requirement);
            _registered.Add(registration);
            foreach (var (name, _, _) in requirement.Resources)
            {
                if (!_probes.ContainsKey(name))
                {
                    _probes[name] = new ConcurrencyProbe();
                }
            }
            return registration;
        }
    }

    /// <summary>Queues a request for <paramref name="registration"/>'s resources; the ticket is granted (at once when they
    /// are free and nobody is ahead) when its turn comes. Every granted ticket must be passed to <see cref="Release"/>.</summary>
    public Ticket Request(Registration registration)
    {
        var ticket = new Ticket(registration);
        lock (_lock)
        {
            ticket.Arrival = _arrivals++;
            _waiting.AddLast(ticket);
            GrantLocked();
        }
        return ticket;
    }

    /// <summary>Blocks until <paramref name="registration"/> may execute; returns the ticket to release afterwards.</summary>
    public Ticket Acquire(Registration registration)
    {
        var ticket = Request(registration);
        ticket.Granted.Wait();
        return ticket;
    }

    /// <summary>Gives a granted ticket's resources back and grants whoever is next.</summary>
    public void Release(Ticket ticket)
    {
        lock (_lock)
        {
            if (!ticket.Granted.IsSet || ticket.Released)
            {
                throw new InvalidOperationException("only a granted ticket can be released, once");
            }
            ticket.Released = true;
            foreach (var (name, global, count) in ticket.Registration.Requirement.Resources)
            {
                _inUse[Key(name, global, ticket.Registration.Requirement.Device)] -= count;
            }
            GrantLocked();
        }
    }

    internal void Unregister(Registration registration)
    {
        lock (_lock)
        {
            _registered.Remove(registration);
            GrantLocked();
        }
    }

    internal void EnterExecution(Registration registration)
    {
        foreach (var (name, _, _) in registration.Requirement.Resources)
        {
            _probes[name].Enter();
        }
    }

    internal void ExitExecution(Registration registration)
    {
        foreach (var (name, _, _) in registration.Requirement.Resources)
        {
            _probes[name].Exit();
        }
    }

    private void GrantLocked()
    {
        while (true)
        {
            Ticket? best = null;
            foreach (var t in _waiting)
            {
                if (Fits(t.Registration) && (best is null || Before(t, best)))
                {
                    best = t;
                }
            }
            if (best is null)
            {
                return;
            }
            _waiting.Remove(best);
            var r = best.Registration;
            foreach (var (name, global, count) in r.Requirement.Resources)
            {
                var key = Key(name, global, r.Requirement.Device);
                _inUse[key] = _inUse.GetValueOrDefault(key) + count;
            }
            r.ExecutionCount++;
            best.Granted.Set();
        }
    }

    private static bool Before(Ticket a, Ticket b)
    {
        var sa = a.Registration.ScaledPriority;
        var sb = b.Registration.ScaledPriority;
        return sa != sb ? sa < sb : a.Arrival < b.Arrival;
    }

    private bool Fits(Registration r)
    {
        foreach (var (name, global, count) in r.Requirement.Resources)
        {
            var device = global ? GlobalDevice : r.Requirement.Device;
            var key = (name, device);
            if (_inUse.GetValueOrDefault(key) + count > Capacity(name, device))
            {
                return false;
            }
        }
        return true;
    }

    private int Capacity(string name, int device)
    {
        if (ExplicitCount(name, device) is { } given)
        {
            return given;
        }
        var max = 0;
        foreach (var registration in _registered)
        {
            foreach (var (n, global, count) in registration.Requirement.Resources)
            {
                var d = global ? GlobalDevice : registration.Requirement.Device;
                if (d == device && string.Equals(n, name, StringComparison.OrdinalIgnoreCase))
                {
                    max = Math.Max(max, count);
                }
            }
        }
        return max;
    }

    /// <summary>The explicit count for a resource on a device (global: the largest given for it on any device).</summary>
    private int? ExplicitCount(string name, int device)
    {
        int? result = null;
        foreach (var e in _explicit)
        {
            if (string.Equals(e.Name, name, StringComparison.OrdinalIgnoreCase) && (device == GlobalDevice || e.Device is null || e.Device == device))
            {
                result = Math.Max(result ?? 0, e.Count);
            }
        }
        return result;
    }

    private static (string, int) Key(string name, bool global, int device) => (name, global ? GlobalDevice : device);

    /// <summary>One instance known to the limiter.</summary>
    public sealed class Registration : IDisposable
    {
        private readonly RateLimiter _owner;

        internal Registration(RateLimiter owner, string instanceName, RateLimiterRequirement requirement)
        {
            _owner = owner;
            InstanceName = instanceName;
            Requirement = requirement;
        }

        public string InstanceName { get; }

        public RateLimiterRequirement Requirement { get; }

        /// <summary>Times it was granted its resources (guarded by the limiter's lock).</summary>
        public long ExecutionCount { get; internal set; }

        internal long ScaledPriority => ExecutionCount * Math.Max(Requirement.Priority, 1u);

        public RateLimiter Limiter => _owner;

        /// <summary>Forgets the instance (its resources no longer count towards the default counts).</summary>
        public void Dispose() => _owner.Unregister(this);
    }

    /// <summary>One request to execute: granted once the resources are the instance's.</summary>
    public sealed class Ticket(Registration registration)
    {
        public Registration Registration { get; } = registration;

        public ManualResetEventSlim Granted { get; } = new(false);

        internal long Arrival;
        internal bool Released;
    }

    private sealed class ConcurrencyProbe
    {
        private int _current;
        private int _max;

        public int Max => Volatile.Read(ref _max);

        public void Enter()
        {
            var now = Interlocked.Increment(ref _current);
            int seen;
            while (now > (seen = Volatile.Read(ref _max)) && Interlocked.CompareExchange(ref _max, now, seen) != seen)
            {
            }
        }

        public void Exit() => Interlocked.Decrement(ref _current);
    }

    private sealed class KeyComparer : IEqualityComparer<(string Name, int Device)>
    {
        public static readonly KeyComparer Instance = new();

        public bool Equals((string Name, int Device) x, (string Name, int Device) y) =>
            x.Device == y.Device && string.Equals(x.Name, y.Name, StringComparison.OrdinalIgnoreCase);

        public int GetHashCode((string Name, int Device) obj) =>
            HashCode.Combine(StringComparer.OrdinalIgnoreCase.GetHashCode(obj.Name), obj.Device);
    }
}
