using BRun.Diagnostics.Core.Messages;
using BRun.Diagnostics.Infrastructure.RateLimits;

namespace BRun.Diagnostics.Infrastructure.Tests.RateLimits;

/// <summary>What a finished call or an answer's head changes in the shared buckets (pure rules, no database).</summary>
public sealed class SettlementTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 2, 12, 0, 0, TimeSpan.Zero);
    private static readonly RatePermit Permit = RatePermit.ForTests(inputTokens: 500, outputTokens: 4096);

    [Fact]
    public void CompleteAnswer_TurnsTheEstimatesIntoTheRealCounts()
    {
        var settlement = RateLimitPacer.Settlement(Permit, RateLimitStoreTests.Answer([], outputTokens: 1200));

        Assert.Equal(1200 - 4096, settlement.OutputDelta);
        Assert.Equal(10 - 500, settlement.InputDelta);
        Assert.Equal(1200, settlement.OutputTokens);
    }

    [Fact]
    public void A429_GivesTheTokensBack_ButNotTheRequest()
    {
        var settlement = RateLimitPacer.Settlement(Permit, RateLimitStoreTests.RateLimited(retryAfterSeconds: 5));

        Assert.Equal(-4096, settlement.OutputDelta);
        Assert.Equal(-500, settlement.InputDelta);
        Assert.Equal(0, settlement.ExtraRequests);
    }

    [Fact]
    public void ACutStream_KeepsTheWholeReservation()
    {
        var cut = RateLimitStoreTests.Answer([]) with
        {
            Parsed = SseTranscriptParser.Parse("event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"usage\":{\"input_tokens\":10,\"output_tokens\":1}}}\n\n"),
            Streamed = true,
        };

        var settlement = RateLimitPacer.Settlement(Permit, cut);

        Assert.Equal(0, settlement.OutputDelta);
        Assert.Null(settlement.OutputTokens);
    }

    [Fact]
    public void RetriedAttempts_CostOneRequestEach()
    {
        var settlement = RateLimitPacer.Settlement(Permit, RateLimitStoreTests.Answer([]) with { Attempts = 3 });

        Assert.Equal(2, settlement.ExtraRequests);
    }

    [Fact]
    public void AHeadWith429_PausesForTheRetryAfter()
    {
        var head = RateLimitPacer.HeadSettlement(429, RateLimitHeaders.Parse(new Dictionary<string, string> { ["retry-after"] = "7" }), new RateLimitOptions(), Now);

        Assert.Equal(7, head.BlockSeconds);
    }

    [Fact]
    public void AHeadWith429AndNoRetryAfter_PausesForTheDefaultBackoff()
    {
        var head = RateLimitPacer.HeadSettlement(429, RateLimitHeaders.Parse(new Dictionary<string, string>()), new RateLimitOptions { DefaultBackoff = TimeSpan.FromSeconds(12) }, Now);

        Assert.Equal(12, head.BlockSeconds);
    }

    [Fact]
    public void AHead_SaysWhenTheApisBucketsAreFullAgain()
    {
        var headers = RateLimitHeaders.Parse(new Dictionary<string, string>
        {
            ["anthropic-ratelimit-output-tokens-limit"] = "8000",
            ["anthropic-ratelimit-output-tokens-reset"] = "2026-12-02T12:00:30Z",
        });

        var head = RateLimitPacer.HeadSettlement(200, headers, new RateLimitOptions(), Now);

        Assert.Equal(30, head.OutputFullIn);
        Assert.Null(head.RequestsFullIn);
        Assert.Null(head.BlockSeconds);
        Assert.True(head.Answered);
    }
}
