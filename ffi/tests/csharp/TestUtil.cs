// Helpers shared by the C# test programs: the environment the Rust test sets, checks that
// fail the process with a message, and a client for the fake Twitch.
using System;
using TwitchDrops;

static class T
{
    public static string Env(string name)
    {
        var value = Environment.GetEnvironmentVariable(name);
        if (value == null)
        {
            Console.Error.WriteLine("set " + name);
            Environment.Exit(2);
        }
        return value;
    }

    public static void Check(bool condition, string what)
    {
        if (!condition)
        {
            Console.Error.WriteLine("check failed: " + what);
            Environment.Exit(1);
        }
    }

    /// <summary>Runs <paramref name="action"/>, which must throw <typeparamref name="E"/>.</summary>
    public static E Throws<E>(Action action, string what) where E : Exception
    {
        try
        {
            action();
        }
        catch (E expected)
        {
            return expected;
        }
        catch (Exception other)
        {
            Check(false, what + ": threw " + other.GetType().Name + " (" + other.Message + "), not " + typeof(E).Name);
        }
        Check(false, what + ": threw nothing, expected " + typeof(E).Name);
        return null;
    }

    public static DropsClientConfig Config()
    {
        return new DropsClientConfig(Env("TWITCH_CLIENT_ID"))
        {
            ClientSecret = Env("TWITCH_CLIENT_SECRET"),
            HelixUrl = Env("TWITCH_HELIX_URL"),
            AuthUrl = Env("TWITCH_AUTH_URL"),
        };
    }
}
