using System.Collections.Concurrent;

namespace BRun.Diagnostics.Simulator;

/// <summary>A request body as the simulator received it.</summary>
public sealed record ReceivedRequest(string Path, string Body);

/// <summary>
/// Per-server memory: how many times each prompt was asked, so transient scenarios can fail first and then succeed;
/// and, when <see cref="SimulatorOptions.RecordRequestBodies"/> is on, every body received.
/// </summary>
internal sealed class SimulatorState
{
    private readonly ConcurrentQueue<ReceivedRequest> _received = new();

    public IReadOnlyList<ReceivedRequest> Received => [.. _received];

    public void Record(string path, string body) => _received.Enqueue(new ReceivedRequest(path, body));

    private readonly ConcurrentDictionary<string, int> _attempts = new(StringComparer.Ordinal);
    private int _requests;

    public int RequestCount => Volatile.Read(ref _requests);

    /// <returns>1 for the first request with this prompt.</returns>
    public int NextAttempt(string prompt)
    {
        Interlocked.Increment(ref _requests);
        return _attempts.AddOrUpdate(prompt, 1, static (_, count) => count + 1);
    }

    public int AttemptsFor(string prompt) => _attempts.TryGetValue(prompt, out var count) ? count : 0;

    private readonly ConcurrentDictionary<string, DateTimeOffset> _cache = new(StringComparer.Ordinal);

    /// <summary>
    /// Looks a cache prefix up and refreshes its lifetime, as a cache read does. Returns true on a hit (written
    /// earlier and not expired), false when this call writes it.
    /// </summary>
    public bool TouchCache(string prefix, DateTimeOffset now, TimeSpan lifetime)
    {
        var hit = false;
        _cache.AddOrUpdate(prefix, now + lifetime, (_, expires) =>
        {
            hit = expires > now;
            return now + lifetime;
        });
        return hit;
    }
}
