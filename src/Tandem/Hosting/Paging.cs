using System.Globalization;

namespace Tandem.Hosting;

/// <summary>
/// The one way list routes read <c>limit</c> and cursors (<c>before</c>, <c>after</c>, <c>cursor</c>):
/// taken as text, so that <c>limit=abc</c> is answered by the route with its range rather than by the
/// framework with a .NET type name, and refused with one problem everywhere: 400 <c>invalid_limit</c> or
/// <c>invalid_cursor</c>, naming the parameter, what it accepts and what was sent.
/// </summary>
internal static class Paging
{
    /// <summary><paramref name="sent"/> as a page size from 1 to <paramref name="max"/>; <paramref name="defaultLimit"/> when absent.</summary>
    public static (int Value, IResult? Problem) Limit(string? sent, int defaultLimit, int max, string parameter = "limit")
    {
        if (string.IsNullOrEmpty(sent))
        {
            return (defaultLimit, null);
        }

        return int.TryParse(sent, NumberStyles.None, CultureInfo.InvariantCulture, out var limit) && limit is >= 1 && limit <= max
            ? (limit, null)
            : (0, InvalidLimit(parameter, sent, defaultLimit, max));
    }

    /// <summary>
    /// <paramref name="sent"/> as a sequence number or id cursor, at least <paramref name="minimum"/>;
    /// null when absent.
    /// </summary>
    /// <param name="expected">What the parameter accepts, in words, when it is not the previous page's <c>next</c>.</param>
    public static (long? Value, IResult? Problem) Sequence(string? sent, string parameter, long minimum = 1, string? expected = null)
    {
        if (string.IsNullOrEmpty(sent))
        {
            return (null, null);
        }

        return long.TryParse(sent, NumberStyles.None, CultureInfo.InvariantCulture, out var value) && value >= minimum
            ? (value, null)
            : (null, InvalidCursor(parameter, sent, $"a whole number from {minimum}: {expected ?? "the \"next\" value of the previous page"}"));
    }

    public static IResult InvalidLimit(string parameter, string? sent, int defaultLimit, int max) =>
        Problems.Create(StatusCodes.Status400BadRequest, "invalid_limit", $"{parameter} is not a usable page size",
            $"{parameter} is a whole number from 1 to {max} (default {defaultLimit}); got '{JsonWords.Echo(sent)}'.", parameter,
            new Dictionary<string, object?> { ["minimum"] = 1, ["maximum"] = max, ["received"] = JsonWords.Echo(sent) });

    /// <param name="expected">What the parameter accepts, in words, e.g. <c>the cursor.next value of the previous page</c>.</param>
    /// <param name="start">Where a list starts without it.</param>
    public static IResult InvalidCursor(string parameter, string? sent, string expected, string start = "the newest") =>
        Problems.Create(StatusCodes.Status400BadRequest, "invalid_cursor", $"{parameter} is not a cursor this API gave",
            $"{parameter} must be {expected}; got '{JsonWords.Echo(sent)}'. Leave it out to start from {start}.", parameter,
            new Dictionary<string, object?> { ["received"] = JsonWords.Echo(sent) });

}
