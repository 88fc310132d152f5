using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using BRun.Diagnostics.Core.Messages;
using BRun.Diagnostics.Infrastructure.Claude;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;

namespace BRun.Diagnostics.Infrastructure.RateLimits;

/// <summary>
/// Paces Claude calls so that every worker of an organisation together stays under its requests, input-token and
/// output-token limits per minute. Before a call, <see cref="AcquireAsync"/> takes the call's estimated cost from the
/// shared buckets in Postgres (waiting while they are empty or the organisation is blocked after a 429); after it,
/// <see cref="RatePermit.SettleAsync"/> corrects the estimates with the real usage, learns the limits from the
/// <c>anthropic-ratelimit-*</c> headers, and on a 429 blocks the whole organisation for the <c>retry-after</c>.
/// </summary>
public sealed partial class RateLimitPacer : IClaudeResponseHeadObserver, IDisposable
{
    private readonly RateLimitStore _store;
    private readonly RateLimitOptions _options;
    private readonly ClaudeOptions _claude;
    private readonly TimeProvider _time;
    private readonly ILogger<RateLimitPacer> _logger;
    private readonly string _organization;
    private readonly ConcurrentDictionary<string, ScopeState> _scopes = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _settled = new(0);
    private int _waiting;
    private int _active;
    private long _dispatched;

    public RateLimitPacer(
        RateLimitStore store,
        IOptions<RateLimitOptions> options,
        IOptions<ClaudeOptions> claude,
        TimeProvider time,
        ILogger<RateLimitPacer> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(claude);
        _store = store;
        _options = options.Value;
        _claude = claude.Value;
        _time = time;
        _logger = logger;
        _organization = _options.Organization is { Length: > 0 } named ? named : OrganizationFromKey(_claude.ApiKey);
    }

    /// <summary>Raised when a call is dispatched or finishes, so a worker can claim the next task.</summary>
    public event Action? Changed;

    public bool Enabled => _options.Enabled;

    /// <summary>Calls of this process waiting for room under the limits.</summary>
    public int Waiting => Volatile.Read(ref _waiting);

    /// <summary>Calls of this process dispatched and not yet finished.</summary>
    public int Active => Volatile.Read(ref _active);

    /// <summary>Calls this process dispatched under pacing since it started.</summary>
    public long Dispatched => Interlocked.Read(ref _dispatched);

    /// <summary>
    /// How many more tasks a worker with <paramref name="inFlight"/> tasks should claim: tasks that hold no permit
    /// yet are waiting for the limits, and only <see cref="RateLimitOptions.MaxWaitingPerWorker"/> of them should.
    /// So the number of calls in flight follows what the limits allow, and the rest stay claimable by any worker.
    /// </summary>
    public int ClaimAllowance(int inFlight) =>
        !_options.Enabled ? int.MaxValue : Math.Max(0, _options.MaxWaitingPerWorker - Math.Max(0, inFlight - Active));

    /// <summary>The scope (organisation and model class, <see cref="RateLimitClass"/>) whose limits a call to <paramref name="model"/> shares.</summary>
    public string ScopeFor(string model) => $"{_organization}:{RateLimitClass.Of(model)}";

    /// <summary>Waits until the call fits under every limit, then takes its estimated cost.</summary>
    public async Task<RatePermit> AcquireAsync(ClaudeRequest request, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (!_options.Enabled)
        {
            return RatePermit.Unpaced(this);
        }

        var model = request.Model ?? _claude.Model;
        var maxTokens = request.MaxTokens ?? _claude.MaxTokens;
        var state = await ScopeAsync(model, ct).ConfigureAwait(false);
        var input = EstimateInput(request);
        var output = _options.OutputReservation == OutputReservation.MaxTokens
            ? maxTokens
            : Math.Min(maxTokens, state.OutputAverage ?? maxTokens / 4.0);

        var probe = false;
        Interlocked.Increment(ref _waiting);
        try
        {
            // One waiter per scope and process asks the database at a time; the others queue behind it in order.
            await state.Gate.WaitAsync(ct).ConfigureAwait(false);
            try
            {
                probe = await TakeAsync(state, input, output, ct).ConfigureAwait(false);
            }
            finally
            {
                state.Gate.Release();
            }
        }
        finally
        {
            Interlocked.Decrement(ref _waiting);
        }

        Interlocked.Increment(ref _active);
        Interlocked.Increment(ref _dispatched);
        Changed?.Invoke();
        var permit = new RatePermit(this, state, input, output) { Probe = probe };
        if (probe)
        {
            state.Probe = permit;
        }

        return permit;
    }

    /// <returns>Whether the call goes out as the cold-start probe (no limit known yet, so nothing was taken).</returns>
    private async Task<bool> TakeAsync(ScopeState state, double input, double output, CancellationToken ct)
    {
        var waitingSince = (long?)null;
        while (true)
        {
            await ApplyDeferredAsync(state, ct).ConfigureAwait(false);
            RateLimitTake take;
            try
            {
                take = await _store.TakeAsync(state.Scope, input, output, ct).ConfigureAwait(false);
            }
            catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.RaiseException)
            {
                // brun_rate_limit_take raises only when the scope's row is missing. rate_limit_state is UNLOGGED, so
                // Postgres empties it in crash recovery (a crash, or an immediate stop, then a restart): recreate the
                // row with the limits this process knows (configured, and the last ones the API announced) and take
                // again. Without this every call after such a restart failed, and the learned limits were gone.
                Log.StateRecreated(_logger, state.Scope);
                await _store.ConfigureAsync(state.Scope, state.Model, _options.Window.TotalSeconds, Limits(state.Announced), ct).ConfigureAwait(false);
                state.AnswerSeen = false;
                continue;
            }

            if (take.Granted)
            {
                if (waitingSince is { } since)
                {
                    Log.Dispatched(_logger, state.Scope, _time.GetElapsedTime(since));
                }

                return take.Probe;
            }

            if (waitingSince is null)
            {
                waitingSince = _time.GetTimestamp();
                Log.Waiting(_logger, state.Scope, take.ReadyAt - take.DbNow, take.BlockedUntil > take.DbNow);
            }

            // Sleep until the buckets say it fits, but look again sooner: a finished call gives tokens back.
            var wait = take.ReadyAt - take.DbNow;
            var sleep = TimeSpan.FromTicks(Math.Clamp(wait.Ticks, TimeSpan.FromMilliseconds(2).Ticks, _options.MaxPollInterval.Ticks));
            using var wake = CancellationTokenSource.CreateLinkedTokenSource(ct);
            wake.CancelAfter(sleep);
            try
            {
                await _settled.WaitAsync(wake.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!ct.IsCancellationRequested)
            {
                // Slept the full interval.
            }
        }
    }

    internal async Task SettleAsync(RatePermit permit, CapturedResponse captured, CancellationToken ct)
    {
        var state = permit.State!;
        Interlocked.CompareExchange(ref state.Probe, null, permit);
        var settlement = Settlement(permit, captured);
        try
        {
            await _store.SettleAsync(state.Scope, settlement, ct).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is NpgsqlException or TimeoutException)
        {
            // The call is done and its outcome matters more than the correction, so the task goes on to be stored; the
            // correction waits in memory and is applied before this process's next take for the scope.
            Defer(state, settlement, ex);
        }
        if (settlement.OutputTokens is { } real)
        {
            state.OutputAverage = state.OutputAverage is { } average ? average + (0.1 * (real - average)) : real;
        }

        WakeWaiters();
    }

    /// <summary>
    /// The head of an answer (each HTTP attempt): learn the announced limits, end the cold-start probe, move the
    /// buckets to where the API's reset headers put them, and on a 429 pause every worker of the organisation.
    /// </summary>
    public async ValueTask OnResponseHeadAsync(string model, int httpStatus, IReadOnlyDictionary<string, string> headers, CancellationToken cancellationToken)
    {
        if (!_options.Enabled)
        {
            return;
        }

        ArgumentNullException.ThrowIfNull(headers);
        var parsed = RateLimitHeaders.Parse(headers);
        var head = HeadSettlement(httpStatus, parsed, _options, _time.GetUtcNow());
        ScopeState? state = null;
        try
        {
            state = await ScopeAsync(model, cancellationToken).ConfigureAwait(false);
            if (parsed.AnnouncesAny)
            {
                await LearnAsync(state, parsed, cancellationToken).ConfigureAwait(false);
            }

            // The probe went out before any limit was known, so the buckets never held it: now that they exist, charge
            // it, or every worker would pace as if the API had not counted it.
            if (Interlocked.Exchange(ref state.Probe, null) is { } probe)
            {
                probe.Charged = true;
                head = head with { ExtraRequests = 1, InputDelta = probe.InputTokens, OutputDelta = probe.OutputTokens };
            }

            if (!state.AnswerSeen || head.BlockSeconds is not null || head.RequestsFullIn is not null || head.InputFullIn is not null || head.OutputFullIn is not null)
            {
                await _store.SettleAsync(state.Scope, head, cancellationToken).ConfigureAwait(false);
                state.AnswerSeen = true;
            }

            if (head.BlockSeconds is { } blocked)
            {
                Log.RateLimited(_logger, state.Scope, TimeSpan.FromSeconds(blocked), headers.TryGetValue("request-id", out var id) ? id : null);
            }
        }
        catch (Exception ex) when (ex is NpgsqlException or TimeoutException)
        {
            if (state is null)
            {
                Log.SettleFailed(_logger, ex, ScopeFor(model));
            }
            else
            {
                Defer(state, head, ex);
            }
        }

        WakeWaiters();
    }

    /// <summary>
    /// Keeps a settlement the database could not take (it is down or unreachable). Without it a reservation was never
    /// given back: capacity lost for up to a window, and a cold-start probe's minute-long hold never lifted early.
    /// </summary>
    private void Defer(ScopeState state, RateLimitSettlement settlement, Exception ex)
    {
        state.Deferred.Enqueue(settlement.Deferred());
        Log.SettleFailed(_logger, ex, state.Scope);
    }

    /// <summary>
    /// Applies the settlements deferred during an outage, oldest first, before the next take. Late corrections are
    /// exact: each moves a bucket's one instant by its own amount, as it would have when the call ended (a refund to
    /// a bucket that has meanwhile refilled is simply absorbed). Runs under the scope's gate, so one applier at a time;
    /// a settlement leaves the queue only once the database has it.
    /// </summary>
    private async Task ApplyDeferredAsync(ScopeState state, CancellationToken ct)
    {
        while (state.Deferred.TryPeek(out var deferred))
        {
            await _store.SettleAsync(state.Scope, deferred, ct).ConfigureAwait(false);
            state.Deferred.TryDequeue(out _);
        }
    }

    /// <summary>
    /// What an answer's head means for the shared state: an answer arrived (so limits it does not announce are not
    /// enforced), the API's own buckets are full again at their reset times, and a 429 pauses the organisation for its
    /// retry-after (or <see cref="RateLimitOptions.DefaultBackoff"/> when it names none).
    /// </summary>
    internal static RateLimitSettlement HeadSettlement(int httpStatus, RateLimitHeaders headers, RateLimitOptions options, DateTimeOffset now) => new()
    {
        Answered = true,
        RequestsFullIn = FullIn(headers.Requests, now),
        InputFullIn = FullIn(headers.InputTokens, now),
        OutputFullIn = FullIn(headers.OutputTokens, now),
        BlockSeconds = httpStatus == 429 ? (headers.RetryAfter ?? options.DefaultBackoff).TotalSeconds : null,
        BlockReason = httpStatus == 429 ? "429 rate_limit_error" : null,
    };

    /// <summary>
    /// What one finished call means for the buckets. Pure, so the rules are tested without a database: a usable answer
    /// turns the estimates into the real counts; a 429 was not admitted, so its tokens come back (the pause itself
    /// was set when its head arrived); an answer that does not say how much it produced keeps the whole reservation
    /// (never under-count); retried HTTP attempts each cost one more request.
    /// </summary>
    internal static RateLimitSettlement Settlement(RatePermit permit, CapturedResponse captured)
    {
        var usage = captured.Parsed.Usage;
        var complete = captured.HttpStatus == 200
            && captured.Parsed.StreamOutcome is StreamOutcome.NotStreamed or StreamOutcome.Completed
            && usage.OutputTokens is not null;
        var settlement = new RateLimitSettlement
        {
            ExtraRequests = Math.Max(0, captured.Attempts - 1),
            Answered = captured.HttpStatus != 0,
        };
        if (permit.Probe && !permit.Charged)
        {
            // A probe whose answer never arrived: the buckets never held it, so there is nothing to correct.
            return settlement;
        }

        if (captured.HttpStatus == 429)
        {
            return settlement with { InputDelta = -permit.InputTokens, OutputDelta = -permit.OutputTokens };
        }

        if (complete)
        {
            // Cache reads do not count towards the input limit; cache writes do.
            var input = (usage.InputTokens ?? 0) + (usage.CacheCreationInputTokens ?? 0);
            return settlement with
            {
                InputDelta = input > 0 ? input - permit.InputTokens : 0,
                OutputDelta = usage.OutputTokens!.Value - permit.OutputTokens,
                OutputTokens = usage.OutputTokens,
            };
        }

        // An error answer produced no output; a cut stream or a lost connection may have produced any amount.
        return captured.HttpStatus >= 400 && captured.Parsed.StreamOutcome != StreamOutcome.CutBeforeMessageStop
            ? settlement with { OutputDelta = -permit.OutputTokens }
            : settlement;
    }

    internal void Release()
    {
        Interlocked.Decrement(ref _active);
        Changed?.Invoke();
    }

    private void WakeWaiters()
    {
        if (_settled.CurrentCount == 0)
        {
            _settled.Release();
        }
    }

    private async Task LearnAsync(ScopeState state, RateLimitHeaders headers, CancellationToken ct)
    {
        var announced = (headers.Requests.Limit, headers.InputTokens.Limit, headers.OutputTokens.Limit);
        if (announced == state.Announced)
        {
            return;
        }

        Log.LimitsLearned(_logger, state.Scope, announced.Item1, announced.Item2, announced.Item3);
        await _store.ConfigureAsync(state.Scope, state.Model, _options.Window.TotalSeconds, Limits(announced), ct).ConfigureAwait(false);

        // Remembered only once stored: a failed store is tried again with the next answer's headers.
        state.Announced = announced;
    }

    private ScopeLimits Limits((int? Requests, int? InputTokens, int? OutputTokens) announced) =>
        Limits(announced.Requests, announced.InputTokens, announced.OutputTokens);

    /// <summary>Configured limits win over announced ones; either is paced at <see cref="RateLimitOptions.Margin"/> below.</summary>
    internal ScopeLimits Limits(int? announcedRequests, int? announcedInput, int? announcedOutput)
    {
        var keep = 1 - _options.Margin;
        return new ScopeLimits(
            (_options.RequestsPerMinute ?? announcedRequests) * keep,
            (_options.InputTokensPerMinute ?? announcedInput) * keep,
            (_options.OutputTokensPerMinute ?? announcedOutput) * keep,
            announcedRequests,
            announcedInput,
            announcedOutput);
    }

    private async Task<ScopeState> ScopeAsync(string model, CancellationToken ct)
    {
        var scope = ScopeFor(model);
        if (_scopes.TryGetValue(scope, out var known))
        {
            return known;
        }

        // The row is named by the class its models share, so a run's wait is found from any of them.
        var modelClass = RateLimitClass.Of(model);
        await _store.ConfigureAsync(scope, modelClass, _options.Window.TotalSeconds, Limits(null, null, null), ct).ConfigureAwait(false);
        return _scopes.GetOrAdd(scope, _ => new ScopeState(scope, modelClass));
    }

    private double EstimateInput(ClaudeRequest request) =>
        Math.Ceiling(((request.SystemPrompt?.Length ?? 0) + request.Prompt.Length) / _options.CharsPerInputToken) + 16;

    private static double? FullIn(AnnouncedLimit limit, DateTimeOffset now) =>
        limit.Reset is { } reset && reset > now ? (reset - now).TotalSeconds : null;

    /// <summary>A stable name for the organisation behind a key, without keeping the key: the first bytes of its SHA-256.</summary>
    private static string OrganizationFromKey(string? apiKey) =>
        string.IsNullOrEmpty(apiKey)
            ? "no-key"
            : "key-" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(apiKey)))[..12];

    public void Dispose()
    {
        _settled.Dispose();
        foreach (var state in _scopes.Values)
        {
            state.Gate.Dispose();
        }
    }

    internal sealed class ScopeState(string scope, string model)
    {
        public string Scope { get; } = scope;
        public string Model { get; } = model;
        public SemaphoreSlim Gate { get; } = new(1, 1);
        public (int?, int?, int?) Announced { get; set; }
        public double? OutputAverage { get; set; }

        /// <summary>This process has told the shared state that an answer arrived (ends the cold-start probe).</summary>
        public bool AnswerSeen { get; set; }

        /// <summary>This process's cold-start probe, until its answer's head charges it to the buckets.</summary>
        public RatePermit? Probe;

        /// <summary>Settlements the database could not take during an outage, applied before the next take.</summary>
        public ConcurrentQueue<RateLimitSettlement> Deferred { get; } = new();
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 7060, Level = LogLevel.Debug, Message = "Rate limits of {Scope} are used up; the next call fits in {Wait} (blocked after a 429: {Blocked})")]
        public static partial void Waiting(ILogger logger, string scope, TimeSpan wait, bool blocked);

        [LoggerMessage(EventId = 7061, Level = LogLevel.Debug, Message = "Call to {Scope} dispatched after waiting {Waited} for the rate limits")]
        public static partial void Dispatched(ILogger logger, string scope, TimeSpan waited);

        [LoggerMessage(EventId = 7062, Level = LogLevel.Warning, Message = "429 from Claude (request {RequestId}): every worker of {Scope} pauses for {Pause}")]
        public static partial void RateLimited(ILogger logger, string scope, TimeSpan pause, string? requestId);

        [LoggerMessage(EventId = 7064, Level = LogLevel.Warning, Message = "Could not record a finished call in the rate-limit state of {Scope}; the correction is applied when the database answers again")]
        public static partial void SettleFailed(ILogger logger, Exception exception, string scope);

        [LoggerMessage(EventId = 7065, Level = LogLevel.Warning, Message = "The rate-limit state of {Scope} was lost (Postgres crash recovery empties the unlogged table); recreated from the known limits")]
        public static partial void StateRecreated(ILogger logger, string scope);

        [LoggerMessage(EventId = 7063, Level = LogLevel.Information,
            Message = "Claude announces the limits of {Scope}: {Requests} requests, {InputTokens} input tokens, {OutputTokens} output tokens per minute")]
        public static partial void LimitsLearned(ILogger logger, string scope, int? requests, int? inputTokens, int? outputTokens);
    }
}

/// <summary>
/// Room under the limits for one call. Settle it with the call's answer; dispose it when the task is done with it.
/// </summary>
public sealed class RatePermit : IAsyncDisposable
{
    private readonly RateLimitPacer _pacer;
    private int _released;

    internal RatePermit(RateLimitPacer pacer, RateLimitPacer.ScopeState? state, double inputTokens, double outputTokens)
    {
        _pacer = pacer;
        State = state;
        InputTokens = inputTokens;
        OutputTokens = outputTokens;
    }

    internal RateLimitPacer.ScopeState? State { get; }

    /// <summary>Sent as the cold-start probe: nothing was taken for it when it was dispatched.</summary>
    internal bool Probe { get; init; }

    /// <summary>The probe's cost was charged when its answer's head arrived.</summary>
    internal bool Charged { get; set; }

    /// <summary>The input tokens taken up front (an estimate from the prompt's length).</summary>
    public double InputTokens { get; }

    /// <summary>The output tokens taken up front (max_tokens, or the moving average).</summary>
    public double OutputTokens { get; }

    internal static RatePermit Unpaced(RateLimitPacer pacer) => new(pacer, null, 0, 0);

    internal static RatePermit ForTests(double inputTokens, double outputTokens) => new(null!, null, inputTokens, outputTokens);

    /// <summary>Corrects the shared buckets with what the call really used and said.</summary>
    public Task SettleAsync(CapturedResponse captured, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(captured);
        return State is null ? Task.CompletedTask : _pacer.SettleAsync(this, captured, ct);
    }

    public ValueTask DisposeAsync()
    {
        if (State is not null && Interlocked.Exchange(ref _released, 1) == 0)
        {
            _pacer.Release();
        }

        return ValueTask.CompletedTask;
    }
}
