using BRun.Diagnostics.Core.Messages;
using BRun.Diagnostics.Infrastructure.Claude;
using BRun.Diagnostics.Simulator;

namespace BRun.Diagnostics.Infrastructure.Tests.Claude;

/// <summary>The client against the fake Claude: the path demo mode takes.</summary>
public sealed class ClaudeClientAgainstSimulatorTests : IAsyncLifetime
{
    private ClaudeSimulatorServer _simulator = null!;

    public async Task InitializeAsync() =>
        _simulator = await ClaudeSimulatorServer.StartAsync(new SimulatorOptions { MinLatency = TimeSpan.Zero, MaxLatency = TimeSpan.Zero, RequestsPerMinute = 100_000 });

    public async Task DisposeAsync() => await _simulator.DisposeAsync();

    private static ClaudeRequest Prompt(SimulatorScenario scenario) => new($"{scenario.Marker()} {Guid.NewGuid():N}\nPersona: single_parent");

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Complete_IsAWholeConversation(bool stream)
    {
        using var harness = new ClientHarness(_simulator.BaseUrl);

        var captured = await harness.Client.SendAsync(Prompt(SimulatorScenario.Complete) with { Stream = stream }, CancellationToken.None);

        Assert.Equal(200, captured.HttpStatus);
        Assert.Equal(stream, captured.Streamed);
        Assert.Equal("end_turn", captured.Parsed.StopReason);
        Assert.StartsWith("req_", captured.RequestId, StringComparison.Ordinal);
        Assert.Contains("anthropic-ratelimit-requests-remaining", captured.RateLimitHeaders.Keys);
        Assert.Contains("\"persona\": \"single_parent\"", captured.Parsed.Text.Replace("\":\"", "\": \"", StringComparison.Ordinal), StringComparison.Ordinal);
    }

    [Fact]
    public async Task TransientRateLimit_IsRetriedAfterTheServersRetryAfter()
    {
        using var harness = new ClientHarness(_simulator.BaseUrl);

        var captured = await harness.Client.SendAsync(Prompt(SimulatorScenario.RateLimited), CancellationToken.None);

        Assert.Equal(2, captured.Attempts);
        Assert.Equal(StreamOutcome.Completed, captured.Parsed.StreamOutcome);
        Assert.Equal([TimeSpan.FromSeconds(1)], harness.Delays);
    }

    [Fact]
    public async Task PersistentRateLimit_ExhaustsTheRetries()
    {
        using var harness = new ClientHarness(_simulator.BaseUrl);
        var request = Prompt(SimulatorScenario.RateLimitedPersistent);

        var captured = await harness.Client.SendAsync(request, CancellationToken.None);

        Assert.Equal(429, captured.HttpStatus);
        Assert.Equal(3, captured.Attempts);
        Assert.Equal(3, _simulator.AttemptsFor(request.Prompt));
        Assert.Equal("rate_limit_error", captured.Parsed.ErrorType);
    }

    [Fact]
    public async Task StreamCut_KeepsThePartialTranscript()
    {
        using var harness = new ClientHarness(_simulator.BaseUrl);

        var captured = await harness.Client.SendAsync(Prompt(SimulatorScenario.StreamCut), CancellationToken.None);

        Assert.Equal(StreamOutcome.CutBeforeMessageStop, captured.Parsed.StreamOutcome);
        Assert.NotEmpty(captured.Parsed.Text);
        Assert.StartsWith("event: message_start", captured.RawBody, StringComparison.Ordinal);
        Assert.Equal(1, captured.Attempts);
    }

    [Fact]
    public async Task EndTurnCut_ArrivesAsAnEndTurnWithUnparseableText()
    {
        using var harness = new ClientHarness(_simulator.BaseUrl, o => o.MaxTokens = 24_576);

        var captured = await harness.Client.SendAsync(Prompt(SimulatorScenario.EndTurnCut), CancellationToken.None);

        Assert.Equal("end_turn", captured.Parsed.StopReason);
        Assert.InRange(captured.Parsed.Usage.OutputTokens!.Value, 900, 1_300);
        Assert.ThrowsAny<System.Text.Json.JsonException>(() => System.Text.Json.JsonDocument.Parse(captured.Parsed.Text));
    }
}
