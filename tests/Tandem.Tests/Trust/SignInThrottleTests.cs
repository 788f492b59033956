using Tandem.Trust;

namespace Tandem.Tests.Trust;

/// <summary>
/// The in-memory sign-in counts on their own (no password hashing), at the edges docs/trust.md states:
/// five wrong passwords in a row from one address lock that address out of the account, twenty against
/// an unknown email lock it like an account, twenty from one address stop the address, each for 15
/// minutes; the maps forget everything past 10,000 entries rather than grow. Found by mutation testing.
/// </summary>
public sealed class SignInThrottleTests
{
    private static readonly DateTimeOffset Start = new(2026, 3, 1, 9, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan Lockout = TimeSpan.FromMinutes(15);
    private static readonly SignInResult Wrong = new(SignInOutcome.InvalidCredentials);

    [Fact]
    public void UnknownEmail_TwentyWrongFromManyAddresses_LocksItFor15MinutesExactly()
    {
        var throttle = new SignInThrottle();
        for (var i = 0; i < 19; i++)
        {
            Assert.Equal(SignInOutcome.InvalidCredentials, throttle.CountUnknown("ghost@example.com", Start).Outcome);
        }

        var locked = throttle.CountUnknown("Ghost@Example.com", Start);
        Assert.Equal(new SignInResult(SignInOutcome.LockedOut, LockedUntil: Start + Lockout), locked);

        Assert.Equal(locked, throttle.Refusal("p", "10.0.0.1", "GHOST@example.com", Start));
        Assert.Equal(locked, throttle.Refusal("p", "10.0.0.1", "ghost@example.com", Start + Lockout - TimeSpan.FromMilliseconds(1)));
        Assert.Null(throttle.Refusal("p", "10.0.0.1", "ghost@example.com", Start + Lockout));
    }

    [Fact]
    public void UnknownEmails_PastTenThousand_AreForgotten_AtTenThousandTheyAreKept()
    {
        var kept = new SignInThrottle();
        var forgotten = new SignInThrottle();
        foreach (var throttle in new[] { kept, forgotten })
        {
            for (var i = 0; i < 19; i++)
            {
                throttle.CountUnknown("ghost@example.com", Start);
            }
        }

        for (var i = 0; i < 9_999; i++)
        {
            kept.CountUnknown($"other{i}@example.com", Start);
            forgotten.CountUnknown($"other{i}@example.com", Start);
        }

        forgotten.CountUnknown("one-more@example.com", Start);

        Assert.Equal(SignInOutcome.LockedOut, kept.CountUnknown("ghost@example.com", Start).Outcome);
        Assert.Equal(SignInOutcome.InvalidCredentials, forgotten.CountUnknown("ghost@example.com", Start).Outcome);
    }

    [Fact]
    public void Pair_FiveWrongInARow_LockIt_ASuccessInBetweenStartsTheCountAgain()
    {
        var throttle = new SignInThrottle();
        var pair = SignInThrottle.Pair("ada@example.com", "10.0.0.1");
        for (var i = 0; i < 4; i++)
        {
            Assert.Equal(SignInOutcome.InvalidCredentials, throttle.Failed(pair, "10.0.0.1", Wrong, Start).Outcome);
        }

        throttle.Succeeded(pair);
        for (var i = 0; i < 4; i++)
        {
            Assert.Equal(SignInOutcome.InvalidCredentials, throttle.Failed(pair, "10.0.0.1", Wrong, Start).Outcome);
        }

        Assert.Equal(new SignInResult(SignInOutcome.LockedOut, LockedUntil: Start + Lockout), throttle.Failed(pair, "10.0.0.1", Wrong, Start));
    }

    [Fact]
    public void ForgetPairs_LiftsTheLocksOfThatEmailOnly()
    {
        var throttle = new SignInThrottle();
        var ada = SignInThrottle.Pair("ada@example.com", "10.0.0.1");
        var lookalike = SignInThrottle.Pair("ada@example.com.au", "10.0.0.2");
        for (var i = 0; i < 5; i++)
        {
            throttle.Failed(ada, "10.0.0.1", Wrong, Start);
            throttle.Failed(lookalike, "10.0.0.2", Wrong, Start);
        }

        throttle.ForgetPairs("Ada@Example.com");

        Assert.Null(throttle.Refusal(ada, "10.0.0.1", null, Start));
        Assert.Equal(SignInOutcome.LockedOut, throttle.Refusal(lookalike, "10.0.0.2", null, Start)?.Outcome);
    }

    [Fact]
    public void Pairs_PastTenThousand_AreForgotten()
    {
        var throttle = new SignInThrottle();
        var ada = SignInThrottle.Pair("ada@example.com", "10.0.0.1");
        for (var i = 0; i < 4; i++)
        {
            throttle.Failed(ada, "10.0.0.1", Wrong, Start);
        }

        for (var i = 0; i < 10_001; i++)
        {
            throttle.Failed(SignInThrottle.Pair($"m{i}@example.com", $"10.1.{i / 250}.{i % 250}"), $"10.1.{i / 250}.{i % 250}", Wrong, Start);
        }

        Assert.Equal(SignInOutcome.InvalidCredentials, throttle.Failed(ada, "10.0.0.1", Wrong, Start).Outcome);
    }

    [Fact]
    public void Address_TwentyWrongAtAnyAccounts_StopsIt_AndAnAttemptHashedMeanwhileGetsTheSameStop()
    {
        var throttle = new SignInThrottle();
        for (var i = 0; i < 19; i++)
        {
            Assert.Equal(SignInOutcome.InvalidCredentials, throttle.Failed(SignInThrottle.Pair($"m{i}@example.com", "10.0.0.9"), "10.0.0.9", Wrong, Start).Outcome);
        }

        var stopped = new SignInResult(SignInOutcome.AddressThrottled, LockedUntil: Start + Lockout);
        Assert.Equal(stopped, throttle.Failed(SignInThrottle.Pair("m19@example.com", "10.0.0.9"), "10.0.0.9", Wrong, Start));
        Assert.Equal(stopped, throttle.Failed(SignInThrottle.Pair("m20@example.com", "10.0.0.9"), "10.0.0.9", Wrong, Start + TimeSpan.FromMinutes(1)));
        Assert.Equal(stopped, throttle.Refusal("x", "10.0.0.9", null, Start + TimeSpan.FromMinutes(14)));
        Assert.Null(throttle.Refusal("x", "10.0.0.9", null, Start + Lockout));
    }

    [Fact]
    public void Addresses_PastTenThousand_AreForgotten()
    {
        var throttle = new SignInThrottle();
        for (var i = 0; i < 19; i++)
        {
            throttle.Failed(SignInThrottle.Pair($"m{i}@example.com", "10.0.0.9"), "10.0.0.9", Wrong, Start);
        }

        for (var i = 0; i < 10_001; i++)
        {
            throttle.Failed(SignInThrottle.Pair("x@example.com", $"10.1.{i / 250}.{i % 250}"), $"10.1.{i / 250}.{i % 250}", Wrong, Start);
        }

        Assert.Equal(SignInOutcome.InvalidCredentials, throttle.Failed(SignInThrottle.Pair("last@example.com", "10.0.0.9"), "10.0.0.9", Wrong, Start).Outcome);
    }

    [Fact]
    public void Pairs_AtTenThousand_AreKept()
    {
        var throttle = new SignInThrottle();
        var ada = SignInThrottle.Pair("ada@example.com", "10.0.0.1");
        for (var i = 0; i < 4; i++)
        {
            throttle.Failed(ada, "10.0.0.1", Wrong, Start);
        }

        for (var i = 0; i < 9_999; i++)
        {
            throttle.Failed(SignInThrottle.Pair($"m{i}@example.com", $"10.1.{i / 250}.{i % 250}"), $"10.1.{i / 250}.{i % 250}", Wrong, Start);
        }

        Assert.Equal(new SignInResult(SignInOutcome.LockedOut, LockedUntil: Start + Lockout), throttle.Failed(ada, "10.0.0.1", Wrong, Start));
    }

    [Fact]
    public void Addresses_AtTenThousand_AreKept()
    {
        var throttle = new SignInThrottle();
        for (var i = 0; i < 19; i++)
        {
            throttle.Failed(SignInThrottle.Pair($"m{i}@example.com", "10.0.0.9"), "10.0.0.9", Wrong, Start);
        }

        for (var i = 0; i < 9_999; i++)
        {
            throttle.Failed(SignInThrottle.Pair("x@example.com", $"10.1.{i / 250}.{i % 250}"), $"10.1.{i / 250}.{i % 250}", Wrong, Start);
        }

        Assert.Equal(new SignInResult(SignInOutcome.AddressThrottled, LockedUntil: Start + Lockout),
            throttle.Failed(SignInThrottle.Pair("last@example.com", "10.0.0.9"), "10.0.0.9", Wrong, Start));
    }

    [Fact]
    public void Address_AtTheInstantItsStopEnds_AFailureCountsAfresh()
    {
        var throttle = new SignInThrottle();
        for (var i = 0; i < 20; i++)
        {
            throttle.Failed(SignInThrottle.Pair($"m{i}@example.com", "10.0.0.9"), "10.0.0.9", Wrong, Start);
        }

        // The stop lasts 15 minutes: at 15:00.000 it is over, so this failure is the first of a new count.
        Assert.Equal(SignInOutcome.InvalidCredentials, throttle.Failed(SignInThrottle.Pair("n@example.com", "10.0.0.9"), "10.0.0.9", Wrong, Start + Lockout).Outcome);
        for (var i = 0; i < 18; i++)
        {
            Assert.Equal(SignInOutcome.InvalidCredentials, throttle.Failed(SignInThrottle.Pair($"n{i}@example.com", "10.0.0.9"), "10.0.0.9", Wrong, Start + Lockout).Outcome);
        }

        Assert.Equal(SignInOutcome.AddressThrottled, throttle.Failed(SignInThrottle.Pair("n19@example.com", "10.0.0.9"), "10.0.0.9", Wrong, Start + Lockout).Outcome);
    }

    [Fact]
    public void CountFailure_WhileALockRuns_LeavesItAsItIs()
    {
        var running = (0, (DateTimeOffset?)(Start + TimeSpan.FromMinutes(5)));
        Assert.Equal(running, SignInThrottle.CountFailure(running, 5, Start));
        Assert.Equal((1, (DateTimeOffset?)null), SignInThrottle.CountFailure(running, 5, Start + TimeSpan.FromMinutes(5)));
    }
}
