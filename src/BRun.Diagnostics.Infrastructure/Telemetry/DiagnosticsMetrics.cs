using System.Diagnostics;
using System.Diagnostics.Metrics;
using BRun.Diagnostics.Core.Messages;

namespace BRun.Diagnostics.Infrastructure.Telemetry;

/// <summary>
/// The product's metrics: the GenAI client metrics of the OpenTelemetry conventions, plus what a team watches during a
/// run (429s, in-client retries, queue depth and age, reports waiting, cost). Gauges
/// that need a query read values a sampler refreshes (<see cref="QueueSampler"/>); nothing queries on collection.
/// </summary>
public sealed class DiagnosticsMetrics
{
    private readonly Histogram<long> _tokenUsage;
    private readonly Histogram<double> _operationDuration;
    private readonly Counter<long> _rateLimited;
    private readonly Counter<long> _retries;
    private readonly Counter<double> _cost;
    private long _queueDepth;
    private double _oldestAvailableAgeSeconds;
    private long _reportsPending;

    public DiagnosticsMetrics(IMeterFactory meterFactory)
    {
        ArgumentNullException.ThrowIfNull(meterFactory);
        var meter = meterFactory.Create(DiagnosticsTelemetry.MeterName);

        // Bucket boundaries from the GenAI conventions' advice, so dashboards built for them work unchanged.
        _tokenUsage = meter.CreateHistogram<long>("gen_ai.client.token.usage", "{token}", "Tokens used per Claude call, by gen_ai.token.type.",
            advice: new InstrumentAdvice<long> { HistogramBucketBoundaries = [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864] });
        _operationDuration = meter.CreateHistogram<double>("gen_ai.client.operation.duration", "s", "Duration of Claude calls.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92] });
        _rateLimited = meter.CreateCounter<long>("brun.claude.rate_limited", "{response}", "Claude answers with HTTP 429.");
        _retries = meter.CreateCounter<long>("brun.claude.retries", "{attempt}", "Extra attempts made inside one Claude call (in-client retries).");
        _cost = meter.CreateCounter<double>("brun.cost", "USD", "Spend on Claude calls, by model.");
        meter.CreateObservableGauge("brun.queue.depth", () => Interlocked.Read(ref _queueDepth), "{task}", "Tasks available to claim (sampled).");
        meter.CreateObservableGauge("brun.queue.oldest_available_age", () => Volatile.Read(ref _oldestAvailableAgeSeconds), "s", "Age of the oldest task available to claim (sampled).");
        meter.CreateObservableGauge("brun.reports.pending", () => Interlocked.Read(ref _reportsPending), "{report}", "RAW reports waiting for upload to blob storage (sampled).");
    }

    /// <summary>One Claude call: tokens (input as the conventions count it for Anthropic: input + cache read + cache creation), duration, 429s, retries, cost.</summary>
    public void RecordCall(string model, string? responseModel, Usage usage, TimeSpan duration, int httpStatus, string? errorType, int extraAttempts, decimal? costUsd)
    {
        ArgumentNullException.ThrowIfNull(usage);
        var tags = new TagList
        {
            { DiagnosticsTelemetry.GenAi.ProviderName, DiagnosticsTelemetry.GenAi.Anthropic },
            { DiagnosticsTelemetry.GenAi.OperationName, DiagnosticsTelemetry.GenAi.Chat },
            { DiagnosticsTelemetry.GenAi.RequestModel, model },
        };
        if (responseModel is not null)
        {
            tags.Add(DiagnosticsTelemetry.GenAi.ResponseModel, responseModel);
        }

        var durationTags = tags;
        if (errorType is not null)
        {
            durationTags.Add(DiagnosticsTelemetry.GenAi.ErrorType, errorType);
        }

        _operationDuration.Record(duration.TotalSeconds, durationTags);
        if (usage.InputTokens is not null || usage.CacheReadInputTokens is not null || usage.CacheCreationInputTokens is not null)
        {
            var input = tags;
            input.Add(DiagnosticsTelemetry.GenAi.TokenType, "input");
            _tokenUsage.Record(usage.TotalInputTokens, input);
        }

        if (usage.OutputTokens is { } output)
        {
            var outputTags = tags;
            outputTags.Add(DiagnosticsTelemetry.GenAi.TokenType, "output");
            _tokenUsage.Record(output, outputTags);
        }

        if (httpStatus == 429)
        {
            _rateLimited.Add(1, new KeyValuePair<string, object?>(DiagnosticsTelemetry.GenAi.RequestModel, model));
        }

        if (extraAttempts > 0)
        {
            _retries.Add(extraAttempts, new KeyValuePair<string, object?>("brun.retry.kind", "client"));
        }

        if (costUsd is { } cost && cost > 0)
        {
            _cost.Add((double)cost, new KeyValuePair<string, object?>(DiagnosticsTelemetry.GenAi.RequestModel, model));
        }
    }

    internal void SetQueue(long depth, double oldestAvailableAgeSeconds, long reportsPending)
    {
        Interlocked.Exchange(ref _queueDepth, depth);
        Volatile.Write(ref _oldestAvailableAgeSeconds, oldestAvailableAgeSeconds);
        Interlocked.Exchange(ref _reportsPending, reportsPending);
    }
}
