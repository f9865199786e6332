/* procfile: placeholder until it lands. */
