using System.Diagnostics;
using BRun.Diagnostics.Infrastructure.Claude;
using BRun.Diagnostics.Infrastructure.Telemetry;
using BRun.Diagnostics.Simulator;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace BRun.Diagnostics.Infrastructure.Tests.Telemetry;

/// <summary>
/// A real call to the simulator through the real client, collected by the OpenTelemetry SDK. Other tests in this
/// process make calls too, so spans are kept only from this test's own trace and metrics only for its own model name.
/// </summary>
public sealed class ClaudeTelemetryTests : IAsyncLifetime
{
    private static readonly ActivitySource TestSource = new("BRun.Diagnostics.Tests.Telemetry");
    private readonly System.Collections.Concurrent.ConcurrentQueue<Activity> _collected = new();
    private readonly string _model = "claude-sonnet-4-5-test-" + Guid.NewGuid().ToString("N")[..8];
    private readonly System.Collections.Concurrent.ConcurrentDictionary<ActivityTraceId, bool> _traces = new();
    private readonly List<Metric> _metrics = [];
    private ClaudeSimulatorServer? _simulator;
    private ServiceProvider? _services;
    private TracerProvider? _tracing;
    private MeterProvider? _meters;

    public async Task InitializeAsync()
    {
        _simulator = await ClaudeSimulatorServer.StartAsync(new SimulatorOptions { MinLatency = TimeSpan.Zero, MaxLatency = TimeSpan.Zero, RetryAfterSeconds = 0 });
        var services = new ServiceCollection().AddLogging();
        services.AddSingleton<IConfiguration>(new ConfigurationBuilder().Build());
        services.AddClaudeMessagesClient(o =>
        {
            o.BaseUrl = _simulator.BaseUrl.ToString();
            o.BaseDelay = TimeSpan.FromMilliseconds(1);
            o.MaxDelay = TimeSpan.FromMilliseconds(5);
        });
        _services = services.BuildServiceProvider();
        _tracing = Sdk.CreateTracerProviderBuilder()
            .AddSource(DiagnosticsTelemetry.SourceName, TestSource.Name)
            .AddHttpClientInstrumentation()
            .AddProcessor(new OwnTrace(_collected, _traces))
            .Build();
        _meters = Sdk.CreateMeterProviderBuilder()
            .AddMeter(DiagnosticsTelemetry.MeterName)
            .AddInMemoryExporter(_metrics)
            .Build();
    }

    public async Task DisposeAsync()
    {
        _tracing?.Dispose();
        _meters?.Dispose();
        if (_services is not null)
        {
            await _services.DisposeAsync();
        }

        if (_simulator is not null)
        {
            await _simulator.DisposeAsync();
        }
    }

    /// <summary>Each call runs under a root span of this test, so its spans can be told from other tests' calls.</summary>
    private async Task<Core.Messages.CapturedResponse> SendAsync(string prompt)
    {
        using var root = TestSource.StartActivity("test") ?? throw new InvalidOperationException("the test source is not listened to");
        _traces[root.TraceId] = true;
        return await _services!.GetRequiredService<IClaudeMessagesClient>().SendAsync(
            new ClaudeRequest(prompt) { Model = _model, MaxTokens = 2048, Temperature = 0.5m }, CancellationToken.None);
    }

    /// <summary>Counters and token histograms add up their values; with <paramref name="count"/> a histogram counts its records.</summary>
    private long Sum(string metric, Func<MetricPoint, bool>? where = null, bool count = false)
    {
        // Each flush exports cumulative totals again: count only the latest export.
        _metrics.Clear();
        _meters!.ForceFlush();
        long total = 0;
        foreach (var m in _metrics.Where(m => m.Name == metric))
        {
            foreach (ref readonly var point in m.GetMetricPoints())
            {
                if ((string?)Tag(point, "gen_ai.request.model") == _model && (where is null || where(point)))
                {
                    total += m.MetricType switch
                    {
                        MetricType.LongSum => point.GetSumLong(),
                        MetricType.Histogram when count => point.GetHistogramCount(),
                        MetricType.Histogram => (long)point.GetHistogramSum(),
                        _ => point.GetHistogramCount(),
                    };
                }
            }
        }

        return total;
    }

    private static object? Tag(MetricPoint point, string key)
    {
        foreach (var tag in point.Tags)
        {
            if (tag.Key == key)
            {
                return tag.Value;
            }
        }

        return null;
    }

    [Fact]
    public async Task A_call_is_one_chat_span_with_the_GenAI_attributes_and_the_HTTP_span_inside_it()
    {
        var captured = await SendAsync("Write a conversation. [simulate:complete]");
        _tracing!.ForceFlush();
        var spans = _collected.ToArray();

        var chat = Assert.Single(spans, s => s.Source.Name == DiagnosticsTelemetry.SourceName);
        var http = Assert.Single(spans, s => s.Source.Name != DiagnosticsTelemetry.SourceName);
        var usage = captured.Parsed.Usage;
        Assert.Equal("chat " + _model, chat.DisplayName);
        Assert.Equal(ActivityKind.Client, chat.Kind);
        Assert.Equal((chat.TraceId, chat.SpanId), (http.TraceId, http.ParentSpanId));
        Assert.Equal("anthropic", chat.GetTagItem("gen_ai.provider.name"));
        Assert.Equal("chat", chat.GetTagItem("gen_ai.operation.name"));
        Assert.Equal(_model, chat.GetTagItem("gen_ai.request.model"));
        Assert.Equal(2048, chat.GetTagItem("gen_ai.request.max_tokens"));
        Assert.Equal(0.5, chat.GetTagItem("gen_ai.request.temperature"));
        Assert.Equal(captured.Parsed.Id, chat.GetTagItem("gen_ai.response.id"));
        Assert.Equal(captured.Parsed.Model, chat.GetTagItem("gen_ai.response.model"));
        Assert.Equal(new[] { "end_turn" }, chat.GetTagItem("gen_ai.response.finish_reasons"));
        Assert.Equal(usage.TotalInputTokens, chat.GetTagItem("gen_ai.usage.input_tokens"));
        Assert.Equal(usage.OutputTokens, chat.GetTagItem("gen_ai.usage.output_tokens"));
        Assert.Null(chat.GetTagItem("error.type"));
        Assert.Null(chat.GetTagItem("gen_ai.input.messages"));
        Assert.DoesNotContain(chat.TagObjects, t => t.Value is string s && s.Contains("Write a conversation", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Token_usage_and_duration_metrics_move_by_the_calls_usage()
    {
        var captured = await SendAsync("Write a conversation. [simulate:complete]");
        var usage = captured.Parsed.Usage;

        Assert.Equal((long?)usage.OutputTokens, Sum("gen_ai.client.token.usage", p => (string?)Tag(p, "gen_ai.token.type") == "output"));
        Assert.Equal((long)usage.TotalInputTokens, Sum("gen_ai.client.token.usage", p => (string?)Tag(p, "gen_ai.token.type") == "input"));
        Assert.Equal(1, Sum("gen_ai.client.operation.duration", count: true));
    }

    [Fact]
    public async Task A_cut_stream_is_an_error_span_and_a_429_is_counted()
    {
        var cut = await SendAsync("Write a conversation. [simulate:stream_cut]");
        var limited = await SendAsync("Write a conversation. [simulate:rate_limited_persistent]");
        _tracing!.ForceFlush();
        var spans = _collected.ToArray();

        var chats = spans.Where(s => s.Source.Name == DiagnosticsTelemetry.SourceName).ToList();
        Assert.Equal(2, chats.Count);
        Assert.Equal("stream_cut", chats[0].GetTagItem("error.type"));
        Assert.Equal(ActivityStatusCode.Error, chats[0].Status);
        Assert.Equal(429, limited.HttpStatus);
        Assert.Equal("rate_limit_error", chats[1].GetTagItem("error.type"));
        Assert.True(Sum("brun.claude.rate_limited") >= 1);
        Assert.Equal(200, cut.HttpStatus);
    }

    /// <summary>Keeps the spans of one trace; the SDK calls it from whichever thread ends a span.</summary>
    private sealed class OwnTrace(System.Collections.Concurrent.ConcurrentQueue<Activity> sink, System.Collections.Concurrent.ConcurrentDictionary<ActivityTraceId, bool> traces) : BaseProcessor<Activity>
    {
        public override void OnEnd(Activity data)
        {
            if (traces.ContainsKey(data.TraceId) && data.Source.Name != TestSource.Name)
            {
                sink.Enqueue(data);
            }
        }
    }
}
