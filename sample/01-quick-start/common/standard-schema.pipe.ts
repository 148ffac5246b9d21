import { BadRequestException, Injectable, type PipeTransform } from '@nestjs/common';
import type { StandardSchemaV1 } from '@standard-schema/spec';

/** Validates a request body with any Standard Schema validator (zod, valibot, arktype …). */
@Injectable()
export class StandardSchemaPipe<T> implements PipeTransform<unknown, Promise<T>> {
  constructor(private readonly schema: StandardSchemaV1<unknown, T>) {}

  async transform(value: unknown): Promise<T> {
    const result = await this.schema['~standard'].validate(value);
    if (!result.issues) return result.value;
    throw new BadRequestException(
      result.issues.map((i) => `${(i.path ?? []).map((p) => (typeof p === 'object' ? String(p.key) : String(p))).join('.') || 'body'}: ${i.message}`),
    );
  }
}
