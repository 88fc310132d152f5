using System.Text.Json.Serialization;

namespace BRun.Diagnostics.Core.Design;

/// <summary>One item of a matrix axis: a persona, arc or topic key and its relative weight (1 unless weighted).</summary>
public sealed record MatrixItem(
    [property: JsonPropertyName("key")] string Key,
    [property: JsonPropertyName("weight")] decimal Weight = 1m);

/// <summary>
/// Which scaffolding a run crosses: personas x arcs x topics. Either <see cref="PerCombination"/> conversations for
/// every combination (the run's count is then combinations x N), or the run's count spread over the combinations in
/// proportion to the product of the items' weights. An empty axis means every usable item of that kind.
/// </summary>
public sealed record RunMatrixSpec
{
    [JsonPropertyName("personas")]
    public IReadOnlyList<MatrixItem> Personas { get; init; } = [];

    [JsonPropertyName("emotional_arcs")]
    public IReadOnlyList<MatrixItem> EmotionalArcs { get; init; } = [];

    [JsonPropertyName("training_topics")]
    public IReadOnlyList<MatrixItem> TrainingTopics { get; init; } = [];

    /// <summary>Conversations per combination; null spreads the run's count by weight.</summary>
    [JsonPropertyName("per_combination")]
    public int? PerCombination { get; init; }

    /// <summary>Most combinations one run may cross (a typo in a script should not create a million tasks).</summary>
    public const int MaxCombinations = 10_000;

    /// <summary>
    /// Parses one axis as written on a command line: <c>key[:weight],key[:weight]...</c>. Null or empty: every usable
    /// item. Throws <see cref="FormatException"/> naming the bad entry.
    /// </summary>
    public static IReadOnlyList<MatrixItem> ParseAxis(string? text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return [];
        }

        var items = new List<MatrixItem>();
        foreach (var entry in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var colon = entry.LastIndexOf(':');
            if (colon < 0)
            {
                items.Add(new MatrixItem(entry));
                continue;
            }

            if (!decimal.TryParse(entry.AsSpan(colon + 1), System.Globalization.NumberStyles.Number, System.Globalization.CultureInfo.InvariantCulture, out var weight)
                || weight < 0 || colon == 0)
            {
                throw new FormatException($"'{entry}' is not key or key:weight (a weight is a number, 0 or more).");
            }

            items.Add(new MatrixItem(entry[..colon], weight));
        }

        return items;
    }
}

/// <summary>One task's place in the matrix: indexes into the resolved persona, arc and topic lists.</summary>
public readonly record struct MatrixCell(int Persona, int Arc, int Topic);

/// <summary>
/// Turns a matrix into the ordered list of cells, one per task. Cells are interleaved (every combination once, then
/// again), so a run that is cancelled half-way still covers its combinations evenly. Pure and deterministic.
/// </summary>
public static class RunMatrixPlanner
{
    /// <summary>Every combination, persona varying fastest (the order runs have always cycled through).</summary>
    public static IReadOnlyList<MatrixCell> Combinations(int personas, int arcs, int topics)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(personas);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(arcs);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(topics);
        if ((long)personas * arcs * topics > RunMatrixSpec.MaxCombinations)
        {
            throw new ArgumentException(
                $"{personas} personas x {arcs} arcs x {topics} topics is {(long)personas * arcs * topics} combinations; at most {RunMatrixSpec.MaxCombinations} are allowed.");
        }

        var cells = new List<MatrixCell>(personas * arcs * topics);
        for (var t = 0; t < topics; t++)
        {
            for (var a = 0; a < arcs; a++)
            {
                for (var p = 0; p < personas; p++)
                {
                    cells.Add(new MatrixCell(p, a, t));
                }
            }
        }

        return cells;
    }

    /// <summary><paramref name="count"/> tasks cycling through every combination.</summary>
    public static IReadOnlyList<MatrixCell> Cycle(int personas, int arcs, int topics, int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(count);
        var combinations = Combinations(personas, arcs, topics);
        return [.. Enumerable.Range(0, count).Select(i => combinations[i % combinations.Count])];
    }

    /// <summary>Exactly <paramref name="perCombination"/> tasks for every combination.</summary>
    public static IReadOnlyList<MatrixCell> PerCombination(int personas, int arcs, int topics, int perCombination)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(perCombination);
        var combinations = Combinations(personas, arcs, topics);
        return Cycle(personas, arcs, topics, checked(combinations.Count * perCombination));
    }

    /// <summary>
    /// <paramref name="count"/> tasks spread over the combinations in proportion to the product of the axis weights,
    /// rounded by largest remainder (ties go to the earlier combination), so the total is exact.
    /// </summary>
    public static IReadOnlyList<MatrixCell> Weighted(
        IReadOnlyList<decimal> personaWeights, IReadOnlyList<decimal> arcWeights, IReadOnlyList<decimal> topicWeights, int count)
    {
        ArgumentNullException.ThrowIfNull(personaWeights);
        ArgumentNullException.ThrowIfNull(arcWeights);
        ArgumentNullException.ThrowIfNull(topicWeights);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(count);
        if (personaWeights.Concat(arcWeights).Concat(topicWeights).Any(w => w < 0))
        {
            throw new ArgumentException("Weights must not be negative.");
        }

        var combinations = Combinations(personaWeights.Count, arcWeights.Count, topicWeights.Count);
        var weights = combinations.Select(c => personaWeights[c.Persona] * arcWeights[c.Arc] * topicWeights[c.Topic]).ToArray();
        var total = weights.Sum();
        if (total <= 0)
        {
            throw new ArgumentException("At least one combination needs a positive weight.");
        }

        var shares = new int[weights.Length];
        var remainders = new decimal[weights.Length];
        var assigned = 0;
        for (var i = 0; i < weights.Length; i++)
        {
            var exact = weights[i] * count / total;
            shares[i] = (int)decimal.Floor(exact);
            remainders[i] = exact - shares[i];
            assigned += shares[i];
        }

        foreach (var i in Enumerable.Range(0, weights.Length).OrderByDescending(i => remainders[i]).ThenBy(i => i).Take(count - assigned))
        {
            shares[i]++;
        }

        var cells = new List<MatrixCell>(count);
        for (var round = 0; cells.Count < count; round++)
        {
            for (var i = 0; i < combinations.Count; i++)
            {
                if (shares[i] > round)
                {
                    cells.Add(combinations[i]);
                }
            }
        }

        return cells;
    }
}
