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

    /// <summary>POSTs to the fake's admin route <paramref name="path"/> (after <c>/_fake/</c>);
    /// returns the status and the body.</summary>
    public static string Admin(string path, out int status)
    {
        var request = (System.Net.HttpWebRequest)System.Net.WebRequest.Create(Env("TD_TEST_BASE_URL") + "/_fake/" + path);
        request.Method = "POST";
        request.ContentLength = 0;
        System.Net.HttpWebResponse response;
        try
        {
            response = (System.Net.HttpWebResponse)request.GetResponse();
        }
        catch (System.Net.WebException e) when (e.Response != null)
        {
            response = (System.Net.HttpWebResponse)e.Response;
        }
        using (response)
        using (var reader = new System.IO.StreamReader(response.GetResponseStream()))
        {
            status = (int)response.StatusCode;
            return reader.ReadToEnd();
        }
    }

    /// <summary>A string field of a flat JSON object (enough for the fake's admin answers).</summary>
    public static string JsonField(string json, string name)
    {
        var match = System.Text.RegularExpressions.Regex.Match(json, "\"" + name + "\"\\s*:\\s*\"([^\"]*)\"");
        Check(match.Success, "a " + name + " in " + json.Length + " bytes of JSON");
        return match.Groups[1].Value;
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
