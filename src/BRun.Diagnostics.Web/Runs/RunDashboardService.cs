using BRun.Diagnostics.Core.Pipeline;
using BRun.Diagnostics.Infrastructure.Auth;
using BRun.Diagnostics.Infrastructure.Batches;
using BRun.Diagnostics.Infrastructure.Failures;
using BRun.Diagnostics.Infrastructure.Live;
using BRun.Diagnostics.Infrastructure.Pipeline;
using BRun.Diagnostics.Infrastructure.RateLimits;

namespace BRun.Diagnostics.Web.Runs;

/// <summary>
/// What the runs pages and the runs API ask for, always as the current user (scoped per request or circuit).
/// Reads go through row-level security, so a run the user may not see is simply not found.
/// </summary>
public sealed class RunDashboardService(
    RunProgressReader reader,
    RunStore runStore,
    MessageBatchStore batches,
    RateLimitStore rateLimits,
    ICurrentUser currentUser,
    TimeProvider timeProvider)
{
    public const int DefaultListLimit = 100;

    public async Task<IReadOnlyList<RunView>> ListAsync(CancellationToken cancellationToken, int limit = DefaultListLimit)
    {
        var now = timeProvider.GetUtcNow();
        var rows = await reader.ListAsync(currentUser.Identity, limit, now - RunProgressCalculator.ThroughputWindow, cancellationToken).ConfigureAwait(false);
        return [.. rows.Select(r => RunProgressCalculator.ToView(r, now))];
    }

    /// <summary>A page of the runs the user may see, newest first, optionally only those with <paramref name="status"/>.</summary>
    public async Task<Page<RunView>> PageAsync(string? status, PageRequest page, CancellationToken cancellationToken)
    {
        var now = timeProvider.GetUtcNow();
        var rows = await reader.PageAsync(currentUser.Identity, status, page, now - RunProgressCalculator.ThroughputWindow, cancellationToken).ConfigureAwait(false);
        return new Page<RunView>([.. rows.Items.Select(r => RunProgressCalculator.ToView(r, now))], rows.TotalCount, rows.PageIndex, rows.PageSize);
    }

    /// <summary>The run, or null when it does not exist or belongs to someone else (callers answer 404).</summary>
    public async Task<RunView?> GetAsync(Guid runId, CancellationToken cancellationToken)
    {
        var now = timeProvider.GetUtcNow();
        var row = await reader.GetAsync(currentUser.Identity, runId, now - RunProgressCalculator.ThroughputWindow, cancellationToken).ConfigureAwait(false);
        return row is null ? null : RunProgressCalculator.ToView(row, now);
    }

    /// <summary>When the run has tasks left that its model's rate limits hold back: why, and until when; else null.</summary>
    public Task<RateLimitWait?> GetRateLimitWaitAsync(RunView run, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(run);
        return rateLimits.GetRunWaitAsync(currentUser.Identity, run.Model, run.Status, run.Pending, cancellationToken);
    }

    /// <summary>
    /// The run and its failures counted by failure type, stop reason and truncation pattern, as of one snapshot, so the
    /// run page's "Failed" card and its "Failures (N)" breakdown never disagree. Null when the run is not visible.
    /// </summary>
    public async Task<RunDetail?> GetWithFailuresAsync(Guid runId, CancellationToken cancellationToken)
    {
        var now = timeProvider.GetUtcNow();
        var read = await reader.GetWithFailuresAsync(currentUser.Identity, runId, now - RunProgressCalculator.ThroughputWindow, cancellationToken).ConfigureAwait(false);
        if (read is null)
        {
            return null;
        }

        var f = read.Failures;
        return new RunDetail(RunProgressCalculator.ToView(read.Run, now), new FailureStatistics(f.Total, f.ByFailureType, f.ByStopReason, f.ByTruncationPattern));
    }

    /// <summary>The run's message batches (batch mode), oldest first; empty for an online run.</summary>
    public Task<IReadOnlyList<MessageBatchRow>> GetBatchesAsync(Guid runId, CancellationToken cancellationToken) =>
        batches.ListForRunAsync(currentUser.Identity, runId, cancellationToken);

    /// <summary>The results lines of the run's batch <paramref name="seq"/> that could not be read, as they came.</summary>
    public Task<IReadOnlyList<UnreadableResultsLine>> GetUnreadableLinesAsync(Guid runId, int seq, CancellationToken cancellationToken) =>
        batches.UnreadableLinesAsync(currentUser.Identity, runId, seq, cancellationToken);

    /// <summary>What the run cost so far, and what the same results would have cost online (batch mode).</summary>
    public Task<RunCost?> GetCostAsync(Guid runId, CancellationToken cancellationToken) =>
        batches.GetRunCostAsync(currentUser.Identity, runId, cancellationToken);

    public Task<IReadOnlyList<PromptTemplateOption>> ListTemplatesAsync(CancellationToken cancellationToken) =>
        reader.ListTemplatesAsync(currentUser.Identity, cancellationToken);

    /// <summary>Creates a run owned by the current user; the workers pick its tasks up.</summary>
    public Task<Guid> CreateAsync(CreateRunRequest request, CancellationToken cancellationToken) =>
        runStore.CreateAsync(currentUser.UserId, request, cancellationToken);

    /// <summary>Cancels a run the current user may cancel (RLS: their own; an admin any). False when not visible or no longer running.</summary>
    public Task<bool> CancelAsync(Guid runId, CancellationToken cancellationToken) =>
        runStore.CancelAsync(currentUser.Identity, runId, cancellationToken);
}
