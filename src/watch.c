/* watch: placeholder until it lands. */
