namespace BRun.Diagnostics.Infrastructure.Live;

/// <summary>
/// The disposable subscriptions of an in-process fan-out (the live-event hub, the dashboard's scan runner): every
/// subscriber gets each value, a disposed one gets nothing more, and one subscriber's exception is reported through
/// <c>onSubscriberFailed</c> without stopping delivery to the others. Thread-safe; the owner decides on which loop
/// <see cref="DeliverAsync"/> runs.
/// </summary>
public sealed class SubscriberList<T>(Action<Exception> onSubscriberFailed)
{
    private readonly Action<Exception> _onSubscriberFailed = onSubscriberFailed;
    private readonly Lock _gate = new();
    private Subscription[] _subscribers = [];

    public int Count => Volatile.Read(ref _subscribers).Length;

    /// <summary>Registers <paramref name="onValue"/> until the returned subscription is disposed.</summary>
    public IDisposable Subscribe(Func<T, Task> onValue)
    {
        ArgumentNullException.ThrowIfNull(onValue);
        var subscription = new Subscription(this, onValue);
        lock (_gate)
        {
            _subscribers = [.. _subscribers, subscription];
        }

        return subscription;
    }

    /// <summary>Hands <paramref name="value"/> to every current subscriber at once and waits for all of them.</summary>
    public Task DeliverAsync(T value) =>
        Task.WhenAll(Volatile.Read(ref _subscribers).Select(s => s.DeliverAsync(value)));

    private void Unsubscribe(Subscription subscription)
    {
        lock (_gate)
        {
            _subscribers = [.. _subscribers.Where(s => !ReferenceEquals(s, subscription))];
        }
    }

    private sealed class Subscription(SubscriberList<T> list, Func<T, Task> onValue) : IDisposable
    {
        private int _disposed;

        public async Task DeliverAsync(T value)
        {
            if (Volatile.Read(ref _disposed) != 0)
            {
                return;
            }

            try
            {
                await onValue(value).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                // A subscriber's own failure (a closed circuit, a failed re-query) must not stop delivery to the others.
                list._onSubscriberFailed(ex);
            }
        }

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                list.Unsubscribe(this);
            }
        }
    }
}
