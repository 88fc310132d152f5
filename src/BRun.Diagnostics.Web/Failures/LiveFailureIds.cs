using BRun.Diagnostics.Infrastructure.Live;
using BRun.Diagnostics.Infrastructure.Pipeline;

namespace BRun.Diagnostics.Web.Failures;

/// <summary>The failures a live batch announces (every user's: row-level security decides what a page counts).</summary>
public static class LiveFailureIds
{
    public static Guid[] Of(LiveEventBatch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        return [.. batch.Events
            .Where(e => e.Kind == RunEvent.TaskFailed && e.FailureId is not null)
            .Select(e => e.FailureId!.Value)
            .Distinct()];
    }
}
