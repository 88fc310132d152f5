using BRun.Diagnostics.Core.RateLimits;
using Microsoft.Extensions.Time.Testing;

namespace BRun.Diagnostics.Core.Tests.RateLimits;

public sealed class TokenBucketTests
{
    private static readonly TimeSpan Minute = TimeSpan.FromMinutes(1);
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 2, 12, 0, 0, TimeSpan.Zero));

    [Fact]
    public void NewBucket_IsFull()
    {
        var bucket = new TokenBucket(8000, Minute, _time.GetUtcNow());

        Assert.Equal(8000, bucket.Level(_time.GetUtcNow()));
    }

    [Fact]
    public void TryTake_WithinTheLevel_TakesAndLowersIt()
    {
        var bucket = new TokenBucket(8000, Minute, _time.GetUtcNow());

        Assert.True(bucket.TryTake(3000, _time.GetUtcNow()));
        Assert.Equal(5000, bucket.Level(_time.GetUtcNow()), 6);
    }

    [Fact]
    public void TryTake_BeyondTheLevel_TakesNothing()
    {
        var bucket = new TokenBucket(8000, Minute, _time.GetUtcNow());
        bucket.TryTake(6000, _time.GetUtcNow());

        Assert.False(bucket.TryTake(3000, _time.GetUtcNow()));
        Assert.Equal(2000, bucket.Level(_time.GetUtcNow()), 6);
    }

    [Fact]
    public void Level_RefillsContinuously_AtLimitPerWindow()
    {
        var bucket = new TokenBucket(6000, Minute, _time.GetUtcNow());
        bucket.TryTake(6000, _time.GetUtcNow());

        _time.Advance(TimeSpan.FromSeconds(15));

        Assert.Equal(1500, bucket.Level(_time.GetUtcNow()), 6);
    }

    [Fact]
    public void Level_NeverExceedsTheLimit()
    {
        var bucket = new TokenBucket(50, Minute, _time.GetUtcNow());
        bucket.TryTake(10, _time.GetUtcNow());

        _time.Advance(TimeSpan.FromHours(1));

        Assert.Equal(50, bucket.Level(_time.GetUtcNow()), 6);
    }

    [Fact]
    public void WaitFor_SaysExactlyWhenTheCostFits()
    {
        var bucket = new TokenBucket(60, Minute, _time.GetUtcNow());
        bucket.TryTake(60, _time.GetUtcNow());

        var wait = bucket.WaitFor(3, _time.GetUtcNow());
        Assert.Equal(TimeSpan.FromSeconds(3), wait);

        _time.Advance(wait - TimeSpan.FromMilliseconds(1));
        Assert.False(bucket.TryTake(3, _time.GetUtcNow()));
        _time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.True(bucket.TryTake(3, _time.GetUtcNow()));
    }

    [Fact]
    public void WaitFor_ACostAboveTheLimit_WaitsForAFullBucketNotForever()
    {
        var bucket = new TokenBucket(8000, Minute, _time.GetUtcNow());
        bucket.TryTake(4000, _time.GetUtcNow());

        Assert.Equal(TimeSpan.FromSeconds(30), bucket.WaitFor(16_000, _time.GetUtcNow()));
    }

    [Fact]
    public void FullAt_IsWhenTheBucketIsFullAgain()
    {
        var bucket = new TokenBucket(8000, Minute, _time.GetUtcNow());
        bucket.TryTake(2000, _time.GetUtcNow());

        Assert.Equal(_time.GetUtcNow().AddSeconds(15), bucket.FullAt);
    }

    [Fact]
    public void Adjust_Negative_GivesAnUnusedReservationBack()
    {
        var bucket = new TokenBucket(8000, Minute, _time.GetUtcNow());
        bucket.TryTake(4096, _time.GetUtcNow());

        bucket.Adjust(1000 - 4096, _time.GetUtcNow());

        Assert.Equal(7000, bucket.Level(_time.GetUtcNow()), 6);
    }

    [Fact]
    public void Adjust_Positive_TakesPastEmpty()
    {
        var bucket = new TokenBucket(8000, Minute, _time.GetUtcNow());
        bucket.TryTake(8000, _time.GetUtcNow());

        bucket.Adjust(2000, _time.GetUtcNow());

        Assert.Equal(TimeSpan.FromSeconds(75), bucket.FullAt - _time.GetUtcNow());
        Assert.Equal(0, bucket.Level(_time.GetUtcNow()));
    }

    [Fact]
    public void Adjust_RefundAfterTheBucketRefilled_CannotOverfillIt()
    {
        var bucket = new TokenBucket(8000, Minute, _time.GetUtcNow());
        bucket.TryTake(4000, _time.GetUtcNow());
        _time.Advance(TimeSpan.FromMinutes(2));

        bucket.Adjust(-4000, _time.GetUtcNow());

        Assert.Equal(8000, bucket.Level(_time.GetUtcNow()), 6);
        Assert.True(bucket.TryTake(8000, _time.GetUtcNow()));
        Assert.False(bucket.TryTake(1, _time.GetUtcNow()));
    }

    [Fact]
    public void SustainedTakes_AverageTheLimitPerWindow()
    {
        var bucket = new TokenBucket(600, Minute, _time.GetUtcNow());
        var taken = 0;
        for (var step = 0; step < 60 * 100; step++)
        {
            while (bucket.TryTake(1, _time.GetUtcNow()))
            {
                taken++;
            }

            _time.Advance(TimeSpan.FromMilliseconds(10));
        }

        // One full bucket at the start plus one window's refill: 600 + 600.
        Assert.InRange(taken, 1199, 1201);
    }
}
