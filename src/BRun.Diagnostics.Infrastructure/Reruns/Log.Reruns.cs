using Microsoft.Extensions.Logging;

namespace BRun.Diagnostics.Infrastructure.Reruns;

/// <summary>Log messages of bulk re-runs (EventIds 7320-7339). Prompts never reach the log.</summary>
internal static partial class RerunLog
{
    [LoggerMessage(7320, LogLevel.Information, "Re-run {RunId} created: {Count} tasks from failed generations ({Skipped} skipped), main source run {SourceRunId}, model {Model}, max_tokens {MaxTokens}")]
    public static partial void RerunCreated(this ILogger logger, Guid runId, int count, int skipped, Guid? sourceRunId, string model, int maxTokens);
}
