/* dotenv: placeholder until it lands. */
