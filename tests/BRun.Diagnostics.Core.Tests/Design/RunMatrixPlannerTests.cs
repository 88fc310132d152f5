using BRun.Diagnostics.Core.Design;

namespace BRun.Diagnostics.Core.Tests.Design;

public sealed class RunMatrixPlannerTests
{
    [Fact]
    public void Per_combination_creates_every_combination_exactly_n_times()
    {
        var cells = RunMatrixPlanner.PerCombination(2, 3, 2, 4);

        var counts = cells.GroupBy(c => c).ToDictionary(g => g.Key, g => g.Count());
        Assert.Equal(12, counts.Count);
        Assert.All(counts.Values, n => Assert.Equal(4, n));
    }

    [Fact]
    public void Per_combination_interleaves_so_a_prefix_covers_every_combination()
    {
        var cells = RunMatrixPlanner.PerCombination(2, 2, 1, 3);

        Assert.Equal(4, cells.Take(4).Distinct().Count());
    }

    [Fact]
    public void Cycle_keeps_the_historical_order_persona_fastest()
    {
        var cells = RunMatrixPlanner.Cycle(2, 2, 2, 5);

        Assert.Equal([new(0, 0, 0), new(1, 0, 0), new(0, 1, 0), new(1, 1, 0), new(0, 0, 1)], cells);
    }

    [Fact]
    public void Weighted_spreads_the_count_in_proportion_and_exactly()
    {
        var cells = RunMatrixPlanner.Weighted([3m, 1m], [1m], [1m], 100);

        Assert.Equal(100, cells.Count);
        Assert.Equal(75, cells.Count(c => c.Persona == 0));
    }

    [Fact]
    public void Weighted_rounding_gives_leftovers_to_the_largest_remainders()
    {
        var cells = RunMatrixPlanner.Weighted([1m, 1m, 1m], [1m], [1m], 10);

        Assert.Equal([4, 3, 3], Enumerable.Range(0, 3).Select(p => cells.Count(c => c.Persona == p)));
    }

    [Fact]
    public void A_zero_weight_combination_gets_no_task()
    {
        var cells = RunMatrixPlanner.Weighted([1m, 0m], [1m, 1m], [1m], 9);

        Assert.DoesNotContain(cells, c => c.Persona == 1);
    }

    [Fact]
    public void All_zero_weights_are_refused() =>
        Assert.Throws<ArgumentException>(() => RunMatrixPlanner.Weighted([0m], [1m], [1m], 3));

    [Fact]
    public void Too_many_combinations_are_refused() =>
        Assert.Throws<ArgumentException>(() => RunMatrixPlanner.Combinations(100, 100, 2));
}
