using System.Diagnostics;
using BRun.Diagnostics.Core.Pipeline;

namespace BRun.Diagnostics.Infrastructure.Telemetry;

/// <summary>
/// The spans of one task delivery. Each delivery is its own trace: a <c>task</c> span (run id, task id, delivery,
/// worker) whose children are <c>claim</c>, the GenAI <c>chat {model}</c> span, <c>capture</c>, <c>validate</c> and
/// <c>store</c>; Npgsql and HttpClient spans nest under whichever step runs them. The claim is one query for many
/// tasks, so it is a span of its own (with the query inside); each task's <c>claim</c> child repeats its times and
/// links to it.
/// </summary>
public static class TaskTracing
{
    public const string TaskSpan = "task";
    public const string ClaimSpan = "claim";
    public const string CaptureSpan = "capture";
    public const string ValidateSpan = "validate";
    public const string StoreSpan = "store";

    public const string RunIdTag = "brun.run.id";
    public const string TaskIdTag = "brun.task.id";
    public const string DeliveryTag = "brun.task.delivery";
    public const string WorkerIdTag = "brun.worker.id";

    private static readonly AsyncLocal<bool> Untraced = new();

    /// <summary>
    /// False while the current flow runs database work that should leave no spans (the data source's tracing filter
    /// asks): an idle worker polls its queue several times a second, and a trace per empty poll is noise that buries
    /// the deliveries.
    /// </summary>
    public static bool DatabaseWorkTraced => !Untraced.Value;

    /// <summary>Turns off the database spans of this flow until disposed.</summary>
    public static UntracedScope UntracedDatabaseWork()
    {
        Untraced.Value = true;
        return default;
    }

    /// <summary>
    /// Records a claim query that found work (or failed) as a span after the fact: the query ran untraced, because
    /// until it answers nobody knows whether it was one of the many empty polls.
    /// </summary>
    public static ActivityContext RecordClaim(string workerId, int limit, int claimed, DateTimeOffset started, DateTimeOffset ended, Exception? error = null)
    {
        using var activity = DiagnosticsTelemetry.Source.StartActivity(ClaimSpan, ActivityKind.Internal, parentContext: default, startTime: started);
        if (activity is null)
        {
            return default;
        }

        activity.SetTag(WorkerIdTag, workerId);
        activity.SetTag("brun.claim.limit", limit);
        activity.SetTag("brun.claim.count", claimed);
        if (error is not null)
        {
            SetError(activity, error);
        }

        activity.SetEndTime(ended.UtcDateTime);
        return activity.Context;
    }

    /// <summary>Ends an <see cref="UntracedDatabaseWork"/> scope.</summary>
    public readonly struct UntracedScope : IDisposable
    {
        public void Dispose() => Untraced.Value = false;
    }

    /// <summary>
    /// Starts a delivery's <c>task</c> span as the root of a new trace, beginning when its claim began, with a
    /// <c>claim</c> child covering the claim query.
    /// </summary>
    public static Activity? StartTask(ClaimedTask task, string workerId, ClaimTiming claim)
    {
        ArgumentNullException.ThrowIfNull(task);
        ArgumentNullException.ThrowIfNull(claim);
        if (!DiagnosticsTelemetry.Source.HasListeners())
        {
            return null;
        }

        // A delivery is its own trace, whatever span happens to be ambient where the task was started.
        Activity.Current = null;
        ActivityLink[] links = claim.Context == default ? [] : [new ActivityLink(claim.Context)];
        var activity = DiagnosticsTelemetry.Source.StartActivity(
            ActivityKind.Consumer,
            parentContext: default,
            tags:
            [
                new(RunIdTag, task.RunId.ToString()),
                new(TaskIdTag, task.Id.ToString()),
                new(DeliveryTag, task.Attempts),
                new(WorkerIdTag, workerId),
            ],
            links: links,
            startTime: claim.Started,
            name: TaskSpan);
        if (activity is null)
        {
            return null;
        }

        using (var claimChild = DiagnosticsTelemetry.Source.StartActivity(ClaimSpan, ActivityKind.Internal, parentContext: default, links: links, startTime: claim.Started))
        {
            claimChild?.SetEndTime(claim.Ended.UtcDateTime);
        }

        return activity;
    }

    /// <summary>A step of the current delivery (capture, validate, store); a no-op when nobody listens.</summary>
    public static Activity? StartStep(string name) => DiagnosticsTelemetry.Source.StartActivity(name, ActivityKind.Internal);

    /// <summary>Records how the delivery ended on its <c>task</c> span (and the current step).</summary>
    public static void SetOutcome(string outcome, string? failureType = null)
    {
        for (var activity = Activity.Current; activity is not null; activity = activity.Parent)
        {
            if (activity.Source == DiagnosticsTelemetry.Source)
            {
                activity.SetTag(DiagnosticsMetrics.Tags.Outcome, outcome);
                activity.SetTag(DiagnosticsMetrics.Tags.FailureType, failureType);
            }

            if (activity.Source == DiagnosticsTelemetry.Source && activity.OperationName == TaskSpan)
            {
                return;
            }
        }
    }

    /// <summary>An error of ours ended the delivery (the task goes back to the queue or is given up).</summary>
    public static void SetError(Activity? activity, Exception exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        activity?.SetTag(DiagnosticsTelemetry.GenAi.ErrorType, exception.GetType().FullName);
        activity?.SetStatus(ActivityStatusCode.Error, exception.Message);
    }
}

/// <summary>When a claim query ran, and its span (default when nobody listened).</summary>
public sealed record ClaimTiming(DateTimeOffset Started, DateTimeOffset Ended, ActivityContext Context);
