namespace BRun.Diagnostics.Simulator;

/// <summary>What the request asked for, as far as the simulator cares.</summary>
internal sealed record SimulatedRequest(string Model, int MaxTokens, bool Stream, string Prompt, string? System)
{
    /// <summary>The request's text up to its last <c>cache_control</c> breakpoint; null when it asks for no caching.</summary>
    public string? CachePrefix { get; init; }
}

/// <summary>How a reply ends on the wire.</summary>
internal enum ReplyEnding
{
    /// <summary>message_delta and message_stop (or the whole JSON body).</summary>
    Normal,

    /// <summary>The connection is closed after <see cref="SimulatedReply.CutFraction"/> of the text.</summary>
    ConnectionCut,

    /// <summary>An <c>event: error</c> after <see cref="SimulatedReply.CutFraction"/> of the text.</summary>
    ErrorEvent,
}

/// <summary>Everything the wire writer needs for one response.</summary>
internal sealed record SimulatedReply
{
    public required SimulatorScenario Scenario { get; init; }
    public int Status { get; init; } = 200;
    public string? ErrorType { get; init; }
    public string? ErrorMessage { get; init; }
    public bool SendRetryAfter { get; init; }
    public bool Html { get; init; }
    public string Text { get; init; } = string.Empty;
    public string? StopReason { get; init; }
    public int InputTokens { get; init; }
    public int CacheCreationInputTokens { get; init; }
    public int CacheReadInputTokens { get; init; }
    public int OutputTokens { get; init; }
    public ReplyEnding Ending { get; init; } = ReplyEnding.Normal;
    public double CutFraction { get; init; } = 1;

    /// <summary>Seeds chunking, ids and latency so the same prompt streams the same way.</summary>
    public int WireSeed { get; init; }
}

/// <summary>Turns a request, its scenario and its attempt number into a reply. Pure: no clock, no I/O.</summary>
internal static class ReplyPlanner
{
    private const int CharsPerToken = 4;

    /// <summary>
    /// Transient scenarios fail while <paramref name="attempt"/> (1-based, per prompt) is within the configured count.
    /// The content is seeded from <paramref name="drawKey"/> (<see cref="SimulatorScenarioPicker.DrawKey"/>; default:
    /// the prompt), so a prompt answered afresh on a later attempt gets new text.
    /// </summary>
    public static SimulatedReply Plan(SimulatedRequest request, SimulatorScenario scenario, int attempt, SimulatorOptions options, string? drawKey = null)
    {
        var contentHash = StableHash.Of(options.Seed, "content", drawKey ?? request.Prompt);
        var random = new Random(unchecked((int)contentHash ^ (int)(contentHash >> 32)));
        var inputTokens = InputTokens(request);
        var baseReply = new SimulatedReply
        {
            Scenario = scenario,
            InputTokens = inputTokens,
            WireSeed = unchecked((int)contentHash + attempt),
        };

        var transientFailing = attempt <= options.TransientFailures;
        switch (scenario)
        {
            case SimulatorScenario.RateLimited when transientFailing:
            case SimulatorScenario.RateLimitedPersistent:
                return baseReply with
                {
                    Status = 429,
                    ErrorType = "rate_limit_error",
                    ErrorMessage = "Number of request tokens has exceeded your per-minute rate limit",
                    SendRetryAfter = true,
                };
            case SimulatorScenario.Overloaded when transientFailing:
                return baseReply with { Status = 529, ErrorType = "overloaded_error", ErrorMessage = "Overloaded" };
            case SimulatorScenario.BadGatewayHtml:
                return baseReply with { Status = 502, Html = true };
        }

        var spec = ConversationWriter.SpecFor(request.Prompt, random);
        var indented = random.Next(2) == 0;
        var budget = (long)request.MaxTokens * CharsPerToken;
        switch (scenario)
        {
            case SimulatorScenario.MaxTokens:
                return CutAtMaxTokens(baseReply, spec, random, indented, request.MaxTokens);
            case SimulatorScenario.EndTurnCut:
                return EndTurnCut(baseReply, spec, random, indented, request.MaxTokens, options.EndTurnCutTokens);
            case SimulatorScenario.Refusal:
                var opening = ConversationWriter.Write(spec, random, 0, int.MaxValue, indented);
                var refused = SafeCut(opening, Math.Min(opening.Length, 15 + random.Next(40)));
                return baseReply with { Text = refused, StopReason = "refusal", OutputTokens = Tokens(refused.Length) };
        }

        var target = (int)Math.Min(2_500 + random.Next(4_500), budget);
        var text = ConversationWriter.Write(spec, random, target, (int)Math.Min(budget, int.MaxValue), indented);
        if (text.Length > budget)
        {
            // max_tokens too small for even one exchange: the honest outcome is a max_tokens cut.
            return CutAtMaxTokens(baseReply with { Scenario = SimulatorScenario.MaxTokens }, spec, random, indented, request.MaxTokens);
        }

        var complete = baseReply with { Text = text, StopReason = "end_turn", OutputTokens = Tokens(text.Length) };
        return scenario switch
        {
            SimulatorScenario.StreamCut => complete with { Ending = ReplyEnding.ConnectionCut, CutFraction = 0.3 + (random.NextDouble() * 0.4) },
            SimulatorScenario.StreamError => complete with { Ending = ReplyEnding.ErrorEvent, CutFraction = 0.2 + (random.NextDouble() * 0.5) },
            _ => complete,
        };
    }

    /// <summary>What the request's input counts as: a fixed overhead plus about 4 characters a token.</summary>
    public static int InputTokens(SimulatedRequest request) => InputTokens(request.System, request.Prompt);

    private static SimulatedReply CutAtMaxTokens(SimulatedReply reply, ConversationSpec spec, Random random, bool indented, int maxTokens)
    {
        var cutChars = (int)Math.Min((long)maxTokens * CharsPerToken, 50_000_000);
        var full = ConversationWriter.Write(spec, random, cutChars + 1, int.MaxValue, indented);
        var text = SafeCut(full, Math.Min(cutChars, full.Length));
        return reply with { Text = text, StopReason = "max_tokens", OutputTokens = maxTokens };
    }

    /// <summary>The mystery case: end_turn well below max_tokens, the JSON cut after a <c>\</c> or inside a word.</summary>
    private static SimulatedReply EndTurnCut(
        SimulatedReply reply, ConversationSpec spec, Random random, bool indented, int maxTokens, int cutTokens)
    {
        var aim = (cutTokens * CharsPerToken) + random.Next(-200, 201);
        var cutAt = (int)Math.Max(1, Math.Min(aim, maxTokens * 0.8 * CharsPerToken));
        var full = ConversationWriter.Write(spec, random, cutAt + 600, int.MaxValue, indented);
        var afterBackslash = random.Next(2) == 0;
        var cut = afterBackslash ? FindAfterBackslash(full, cutAt) : FindMidWord(full, cutAt);
        cut ??= afterBackslash ? FindMidWord(full, cutAt) : FindAfterBackslash(full, cutAt);
        var text = SafeCut(full, Math.Min(cut ?? cutAt, full.Length));
        return reply with { Text = text, StopReason = "end_turn", OutputTokens = Tokens(text.Length) };
    }

    private static int? FindAfterBackslash(string text, int from)
    {
        var index = text.IndexOf('\\', Math.Min(from, text.Length));
        return index < 0 ? null : index + 1;
    }

    private static int? FindMidWord(string text, int from)
    {
        for (var i = Math.Max(from, 1); i < text.Length; i++)
        {
            if (char.IsAsciiLetterLower(text[i - 1]) && char.IsAsciiLetterLower(text[i]))
            {
                return i;
            }
        }

        return null;
    }

    /// <summary>Never splits a surrogate pair, which no real output could contain.</summary>
    internal static string SafeCut(string text, int length) =>
        length > 0 && length < text.Length && char.IsHighSurrogate(text[length - 1]) ? text[..(length - 1)] : text[..length];

    /// <summary>The input tokens reported for a request, in usage and by count_tokens alike (so a preview matches the run).</summary>
    public static int InputTokens(string? system, string prompt) => 12 + Tokens((system?.Length ?? 0) + prompt.Length);

    internal static int Tokens(long chars) => (int)Math.Max(1, (chars + CharsPerToken - 1) / CharsPerToken);
}
