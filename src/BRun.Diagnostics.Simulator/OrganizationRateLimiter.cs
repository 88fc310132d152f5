using System.Globalization;
using BRun.Diagnostics.Core.RateLimits;

namespace BRun.Diagnostics.Simulator;

/// <summary>Which organisation limit a request ran into.</summary>
public enum SimulatedLimit
{
    Requests,
    InputTokens,
    OutputTokens,
}

/// <summary>One request the limiter let through, for the tests' and the benchmark's own accounting.</summary>
/// <param name="AdmittedAt">When it was admitted (the simulator's clock).</param>
/// <param name="InputTokens">Input tokens counted against the input limit.</param>
/// <param name="ReservedOutputTokens">Output tokens reserved at admission (max_tokens, capped at the limit).</param>
/// <param name="OutputTokens">Output tokens actually produced; null until the answer is finished.</param>
/// <param name="SettledAt">When the answer finished and the reservation was corrected.</param>
public sealed record AdmittedCall(DateTimeOffset AdmittedAt, int InputTokens, int ReservedOutputTokens, int? OutputTokens, DateTimeOffset? SettledAt);

/// <summary>What the limiter counted so far.</summary>
public sealed record SimulatorRateLimitStats(
    int Admitted,
    int Rejected,
    IReadOnlyDictionary<SimulatedLimit, int> RejectedBy,
    IReadOnlyList<AdmittedCall> Calls);

/// <summary>The outcome of asking the limiter to admit one request, and the headers to send with the answer.</summary>
internal sealed class Admission
{
    public required bool Admitted { get; init; }
    public int Index { get; init; } = -1;
    public int ReservedOutput { get; init; }
    public SimulatedLimit? Exceeded { get; init; }
    public int RetryAfterSeconds { get; init; }
    public required IReadOnlyList<KeyValuePair<string, string>> Headers { get; init; }

    /// <summary>Set by the first settle; later ones do nothing.</summary>
    public int Settled;
}

/// <summary>
/// An organisation's limits as the Messages API documents them: requests, input tokens and output tokens per minute,
/// each a token bucket refilled continuously. Input tokens are counted when the request arrives; output tokens are
/// reserved as max_tokens when it arrives and corrected to the real count when the answer ends. A request that does
/// not fit every bucket is refused with 429 and a <c>retry-after</c> (whole seconds until it would fit), and takes
/// nothing. Every answer carries <c>anthropic-ratelimit-*</c> headers for the enforced limits: remaining token counts
/// rounded to the nearest thousand, resets in RFC 3339 rounded up to the second, as the real API sends them.
/// </summary>
internal sealed class OrganizationRateLimiter
{
    private readonly object _gate = new();
    private readonly TimeProvider _time;
    private readonly TokenBucket? _requests;
    private readonly TokenBucket? _input;
    private readonly TokenBucket? _output;
    private readonly List<AdmittedCall> _calls = [];
    private readonly Dictionary<SimulatedLimit, int> _rejected = new()
    {
        [SimulatedLimit.Requests] = 0,
        [SimulatedLimit.InputTokens] = 0,
        [SimulatedLimit.OutputTokens] = 0,
    };

    public OrganizationRateLimiter(SimulatorOptions options, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(options);
        _time = time;
        var now = time.GetUtcNow();
        _requests = Bucket(options.RequestsPerMinute, options.RateLimitWindow, now);
        _input = Bucket(options.InputTokensPerMinute, options.RateLimitWindow, now);
        _output = Bucket(options.OutputTokensPerMinute, options.RateLimitWindow, now);
    }

    public SimulatorRateLimitStats Stats()
    {
        lock (_gate)
        {
            return new SimulatorRateLimitStats(_calls.Count, _rejected.Values.Sum(), new Dictionary<SimulatedLimit, int>(_rejected), _calls.ToArray());
        }
    }

    public Admission TryAdmit(int inputTokens, int maxTokens)
    {
        lock (_gate)
        {
            var now = _time.GetUtcNow();
            var reserved = _output is null ? maxTokens : (int)Math.Min(maxTokens, _output.Limit);
            var waits = new (SimulatedLimit Limit, TimeSpan Wait)[]
            {
                (SimulatedLimit.Requests, _requests?.WaitFor(1, now) ?? TimeSpan.Zero),
                (SimulatedLimit.InputTokens, _input?.WaitFor(inputTokens, now) ?? TimeSpan.Zero),
                (SimulatedLimit.OutputTokens, _output?.WaitFor(reserved, now) ?? TimeSpan.Zero),
            };
            var worst = waits.MaxBy(w => w.Wait);
            if (worst.Wait > TimeSpan.Zero)
            {
                _rejected[worst.Limit]++;
                return new Admission
                {
                    Admitted = false,
                    Exceeded = worst.Limit,
                    RetryAfterSeconds = (int)Math.Ceiling(worst.Wait.TotalSeconds),
                    Headers = Headers(now),
                };
            }

            _requests?.TryTake(1, now);
            _input?.TryTake(inputTokens, now);
            _output?.TryTake(reserved, now);
            _calls.Add(new AdmittedCall(now, inputTokens, reserved, null, null));
            return new Admission { Admitted = true, Index = _calls.Count - 1, ReservedOutput = reserved, Headers = Headers(now) };
        }
    }

    /// <summary>The answer ended: the output reservation becomes the real count.</summary>
    public void Settle(Admission admission, int outputTokens)
    {
        if (!admission.Admitted || Interlocked.Exchange(ref admission.Settled, 1) == 1)
        {
            return;
        }

        lock (_gate)
        {
            var now = _time.GetUtcNow();
            _output?.Adjust(outputTokens - admission.ReservedOutput, now);
            _calls[admission.Index] = _calls[admission.Index] with { OutputTokens = outputTokens, SettledAt = now };
        }
    }

    /// <summary>The 429 body's message, worded like the real one.</summary>
    public static string Message(SimulatedLimit limit, SimulatorOptions options)
    {
        var (count, unit) = limit switch
        {
            SimulatedLimit.Requests => (options.RequestsPerMinute, "requests"),
            SimulatedLimit.InputTokens => (options.InputTokensPerMinute, "input tokens"),
            _ => (options.OutputTokensPerMinute, "output tokens"),
        };
        return string.Create(CultureInfo.InvariantCulture,
            $"This request would exceed your organization's rate limit of {count:N0} {unit} per minute. Please reduce the prompt length or the maximum tokens requested, or try again later.");
    }

    private List<KeyValuePair<string, string>> Headers(DateTimeOffset now)
    {
        var headers = new List<KeyValuePair<string, string>>();
        Add(headers, "requests", _requests, now, roundToThousand: false);
        Add(headers, "input-tokens", _input, now, roundToThousand: true);
        Add(headers, "output-tokens", _output, now, roundToThousand: true);
        if (_input is not null && _output is not null)
        {
            // The combined header shows input + output when no narrower (workspace) limit applies.
            headers.Add(new("anthropic-ratelimit-tokens-limit", Count(_input.Limit + _output.Limit)));
            headers.Add(new("anthropic-ratelimit-tokens-remaining", Count(RoundToThousand(_input.Level(now) + _output.Level(now)))));
            headers.Add(new("anthropic-ratelimit-tokens-reset", Reset(_input.FullAt > _output.FullAt ? _input.FullAt : _output.FullAt, now)));
        }

        return headers;
    }

    private static void Add(List<KeyValuePair<string, string>> headers, string name, TokenBucket? bucket, DateTimeOffset now, bool roundToThousand)
    {
        if (bucket is null)
        {
            return;
        }

        var level = bucket.Level(now);
        headers.Add(new($"anthropic-ratelimit-{name}-limit", Count(bucket.Limit)));
        headers.Add(new($"anthropic-ratelimit-{name}-remaining", Count(roundToThousand ? RoundToThousand(level) : Math.Floor(level))));
        headers.Add(new($"anthropic-ratelimit-{name}-reset", Reset(bucket.FullAt, now)));
    }

    private static double RoundToThousand(double tokens) => Math.Round(tokens / 1000, MidpointRounding.AwayFromZero) * 1000;

    private static string Count(double value) => ((long)value).ToString(CultureInfo.InvariantCulture);

    /// <summary>When the bucket is full again, rounded up to the whole second so the header never promises early.</summary>
    internal static string Reset(DateTimeOffset fullAt, DateTimeOffset now)
    {
        var at = fullAt > now ? fullAt : now;
        var ticks = (at.UtcTicks + TimeSpan.TicksPerSecond - 1) / TimeSpan.TicksPerSecond * TimeSpan.TicksPerSecond;
        return new DateTimeOffset(ticks, TimeSpan.Zero).ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
    }

    private static TokenBucket? Bucket(int limit, TimeSpan window, DateTimeOffset now) =>
        limit > 0 ? new TokenBucket(limit, window, now) : null;
}
