using System.Collections.Concurrent;

namespace BRun.Diagnostics.Simulator;

/// <summary>What one batch request turns into when its batch is processed.</summary>
internal enum BatchItemOutcome
{
    /// <summary><c>succeeded</c> with a message (which may still be cut: max_tokens, end_turn cut, refusal).</summary>
    Message,

    /// <summary><c>errored</c> with an error body (<see cref="BatchItem.ErrorType"/>).</summary>
    Errored,

    /// <summary><c>expired</c>: not processed within the batch's lifetime.</summary>
    Expired,
}

/// <summary>
/// One request of a simulated batch, planned when the batch is created so every download gives the same bytes. A
/// garbled one's result line is written damaged (cut short, zero bytes): not JSON, as a line corrupted in transfer; an
/// omitted one has no line in the results at all (the API promises one per request; a file cut short would lose some).
/// </summary>
internal sealed record BatchItem(
    string CustomId, SimulatedRequest Request, SimulatedReply Reply, BatchItemOutcome Outcome, string? ErrorType, string? ErrorMessage,
    bool Garbled = false, bool Omitted = false);

/// <summary>
/// A batch held in memory. Its requests finish evenly over <see cref="ProcessingTime"/> in <see cref="Items"/> order
/// (already shuffled, so results are not in request order); a cancel turns every unfinished request into
/// <c>canceled</c>.
/// </summary>
internal sealed class SimulatedBatch
{
    public required string Id { get; init; }
    public required DateTimeOffset CreatedAt { get; init; }
    public required TimeSpan ProcessingTime { get; init; }
    public required IReadOnlyList<BatchItem> Items { get; init; }
    public DateTimeOffset ExpiresAt => CreatedAt.AddHours(24);
    public DateTimeOffset? CancelInitiatedAt { get; set; }

    /// <summary>Removed by DELETE; gone from retrieve and list.</summary>
    public bool Deleted { get; set; }

    private int _downloads;

    /// <summary>Counts a download of the results; the number of this one (1 for the first).</summary>
    public int NextDownload() => Interlocked.Increment(ref _downloads);

    /// <summary>When processing ends: the processing time, or the cancel (the API reports <c>canceling</c> only in the cancel call's own answer).</summary>
    public DateTimeOffset EndsAt => CancelInitiatedAt is { } cancelled && cancelled < CreatedAt + ProcessingTime ? cancelled : CreatedAt + ProcessingTime;

    public bool HasEnded(DateTimeOffset now) => now >= EndsAt;

    /// <summary>Whether request <paramref name="index"/> was processed by <paramref name="now"/> (expired ones never are).</summary>
    public bool IsFinished(int index, DateTimeOffset now)
    {
        if (Items[index].Outcome == BatchItemOutcome.Expired)
        {
            return false;
        }

        var finishesAt = ProcessingTime <= TimeSpan.Zero
            ? CreatedAt
            : CreatedAt + (ProcessingTime * ((index + 1) / (double)Items.Count));
        var stop = CancelInitiatedAt is { } cancelled && cancelled < now ? cancelled : now;
        return finishesAt <= stop;
    }

    /// <summary>The result type of request <paramref name="index"/> once the batch has ended.</summary>
    public string ResultType(int index, DateTimeOffset now)
    {
        if (IsFinished(index, now))
        {
            return Items[index].Outcome == BatchItemOutcome.Errored ? "errored" : "succeeded";
        }

        return CancelInitiatedAt is not null ? "canceled" : "expired";
    }

    public (int Processing, int Succeeded, int Errored, int Canceled, int Expired) Counts(DateTimeOffset now)
    {
        var ended = HasEnded(now);
        int processing = 0, succeeded = 0, errored = 0, canceled = 0, expired = 0;
        for (var i = 0; i < Items.Count; i++)
        {
            if (!ended && !IsFinished(i, now))
            {
                processing++;
                continue;
            }

            switch (ResultType(i, now))
            {
                case "succeeded": succeeded++; break;
                case "errored": errored++; break;
                case "canceled": canceled++; break;
                default: expired++; break;
            }
        }

        return (processing, succeeded, errored, canceled, expired);
    }
}

/// <summary>The simulator's batches, newest last.</summary>
internal sealed class SimulatedBatchStore
{
    private readonly ConcurrentDictionary<string, SimulatedBatch> _batches = new(StringComparer.Ordinal);
    private readonly List<string> _order = [];
    private readonly Lock _gate = new();

    public void Add(SimulatedBatch batch)
    {
        _batches[batch.Id] = batch;
        lock (_gate)
        {
            _order.Add(batch.Id);
        }
    }

    public SimulatedBatch? Find(string id) => _batches.TryGetValue(id, out var batch) && !batch.Deleted ? batch : null;

    /// <summary>Newest first, as the API lists them.</summary>
    public IReadOnlyList<SimulatedBatch> NewestFirst()
    {
        lock (_gate)
        {
            return _order.AsEnumerable().Reverse().Select(id => _batches[id]).Where(b => !b.Deleted).ToList();
        }
    }

    public int Count => _batches.Count;
}
