using BRun.Diagnostics.Core.Messages;
using BRun.Diagnostics.Core.Pricing;

namespace BRun.Diagnostics.Core.Tests.Pricing;

public sealed class PriceTableTests
{
    private static readonly PriceTable Table = PriceTable.CreateDefault();

    [Fact]
    public void Cost_prices_each_token_class_at_its_own_rate()
    {
        var cost = Table.Cost("claude-sonnet-4-5", new Usage(1_000_000, 100_000, 200_000, 2_000_000));

        Assert.NotNull(cost);
        Assert.Equal(3m, cost.Input);
        Assert.Equal(1.5m, cost.Output);
        Assert.Equal(0.75m, cost.CacheWrite);
        Assert.Equal(0.6m, cost.CacheRead);
        Assert.Equal(5.85m, cost.Total);
    }

    [Fact]
    public void Batch_halves_every_class()
    {
        var usage = new Usage(10_000, 2_000, 500, 4_000);
        var online = Table.Cost("claude-haiku-4-5", usage)!;
        var batch = Table.Cost("claude-haiku-4-5", usage, batch: true)!;

        Assert.Equal(online.Total / 2, batch.Total);
        Assert.True(batch.BatchDiscount);
    }

    [Theory]
    [InlineData("claude-sonnet-4-5-20250929", 3)]
    [InlineData("claude-sonnet-4-20250514", 3)]
    [InlineData("claude-opus-4-1-20250805", 15)]
    [InlineData("claude-opus-4-5-20251101", 5)]
    [InlineData("claude-sonnet-5-5", 2)]
    public void A_dated_id_takes_its_familys_longest_prefix(string model, decimal inputPerMTok) =>
        Assert.Equal(inputPerMTok, Table.Find(model)?.InputPerMTok);

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("gpt-4o")]
    public void An_unknown_model_has_no_cost(string? model) =>
        Assert.Null(Table.Cost(model, new Usage(1, 1, 0, 0)));

    [Fact]
    public void Missing_usage_counts_as_zero() =>
        Assert.Equal(0m, Table.Cost("claude-sonnet-4-5", Usage.None)!.Total);

    [Fact]
    public void UpperBound_is_input_plus_max_tokens_of_output() =>
        Assert.Equal(0.003m + 0.06m, Table.UpperBound("claude-sonnet-4-5", 1_000, 4_000));
}
